"""Defaults the guide states are the registry's (descent_core.OPTIMIZERS[id].defaults) and, for the rules torch ships,
torch's own: each entry names where the text states it (a snippet that must be there, whitespace ignored) and the
values it states. Changing the text or the code alone breaks this test."""

from __future__ import annotations

import inspect
import pathlib

import pytest
import torch
import yaml

import descent_core as dc

ROOT = pathlib.Path(__file__).resolve().parents[1]
TORCH_CLASS = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adadelta": "Adadelta", "adam": "Adam",
               "adamw": "AdamW", "nadam": "NAdam", "radam": "RAdam", "muon": "Muon"}

# (file, card id or None for a section, snippet stated there, optimizer id, the defaults the snippet states)
STATED = (
    ("05-adagrad.md", None, r"In torch the defaults are $\eta = 10^{-2}$ and $\epsilon = 10^{-10}$",
     "adagrad", {"lr": 1e-2, "eps": 1e-10}),
    ("05-adagrad.md", None, "`initial_accumulator_value` (default 0)", "adagrad", {"initial_accumulator_value": 0.0}),
    ("06-rmsprop.md", None, "The decay $\\alpha$ is torch's `alpha`, default $0.99$", "rmsprop", {"alpha": 0.99}),
    ("06-rmsprop.md", None, r"torch's other defaults are $\eta = 10^{-2}$ and $\epsilon = 10^{-8}$",
     "rmsprop", {"lr": 1e-2, "eps": 1e-8}),
    ("07-adadelta.md", None, "torch adds `lr` as a plain multiplier with default $1.0$", "adadelta", {"lr": 1.0}),
    ("07-adadelta.md", None, r"torch's defaults are $\rho = 0.9$ and $\epsilon = 10^{-6}$", "adadelta",
     {"rho": 0.9, "eps": 1e-6}),
    ("08-adam.md", None, r"$\eta = 10^{-3}$, betas $(0.9,\ 0.999)$ and $\epsilon = 10^{-8}$", "adam",
     {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}),
    ("10-adamw.md", None, "torch's `AdamW` defaults to > $\\lambda = 10^{-2}$", "adamw", {"weight_decay": 1e-2}),
    ("11-nadam.md", None, r"the default $\psi = 4\times10^{-3}$", "nadam", {"momentum_decay": 4e-3}),
    ("11-nadam.md", None, r"$2\times10^{-3}$ for NAdam against $10^{-3}$ for Adam", "nadam", {"lr": 2e-3}),
    ("12-frontier.md", None, r"Defaults: $\eta = 10^{-3}$, $\lambda = 0.1$, $\mu = 0.95$, Nesterov on", "muon",
     {"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": True}),
    ("12-frontier.md", None, r"$\gamma = 0.04$, $\beta = (0.965, 0.99)$ and $k = 10$", "sophia",
     {"rho": 0.04, "betas": (0.965, 0.99), "update_period": 10}),
    ("12-frontier.md", None, r"$\eta = 10^{-4}$, $\beta = (0.9, 0.99)$", "lion", {"lr": 1e-4, "betas": (0.9, 0.99)}),
    ("foundations.yaml", "sgd-torch-defaults", "`momentum=0`, `dampening=0`, `weight_decay=0`, `nesterov=False`",
     "sgd", {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}),
    ("adaptive.yaml", "adagrad-torch-defaults", "lr=1e-2, eps=1e-10, initial_accumulator_value=0, lr_decay=0",
     "adagrad", {"lr": 1e-2, "eps": 1e-10, "initial_accumulator_value": 0.0, "lr_decay": 0.0}),
    ("adaptive.yaml", "adadelta-torch-defaults", "lr=1.0, rho=0.9, eps=1e-6", "adadelta",
     {"lr": 1.0, "rho": 0.9, "eps": 1e-6}),
    ("adaptive.yaml", "rmsprop-torch-alpha", "`lr=1e-2`, `eps=1e-8`, `momentum=0`, `centered=False`", "rmsprop",
     {"lr": 1e-2, "eps": 1e-8, "momentum": 0.0, "centered": False}),
    ("adam-family.yaml", "adam-five-lines", "`lr=1e-3`, `betas=(0.9, 0.999)`, `eps=1e-8`, `weight_decay=0`", "adam",
     {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}),
    ("adam-family.yaml", "adamw-default-wd", "1e-2. `torch.optim.Adam` defaults to 0", "adamw",
     {"weight_decay": 1e-2}),
    ("adam-family.yaml", "nadam-update", "`lr=2e-3`, betas (0.9, 0.999), `eps=1e-8`, `momentum_decay=4e-3`",
     "nadam", {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "momentum_decay": 4e-3}),
    ("frontier.yaml", "muon-update", "lr 1e-3, weight_decay 0.1, momentum 0.95, nesterov True", "muon",
     {"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": True}),
    ("frontier.yaml", "lion-defaults", "lr 1e-4 with $\\beta_1 = 0.9$ (update mix) and $\\beta_2 = 0.99$", "lion",
     {"lr": 1e-4, "betas": (0.9, 0.99)}),
    ("frontier.yaml", "radam-when-to-use", "`torch.optim.RAdam`: lr 1e-3, betas (0.9, 0.999)", "radam",
     {"lr": 1e-3, "betas": (0.9, 0.999)}),
)


def source_text(file: str, card_id: str | None) -> str:
    if card_id is None:
        text = (ROOT / "content" / file).read_text(encoding="utf-8")
    else:
        deck = yaml.safe_load((ROOT / "content" / "decks" / file).read_text(encoding="utf-8"))
        card = next(c for c in deck["cards"] if c["id"] == card_id)
        text = " ".join(str(card.get(k, "")) for k in ("prompt", "answer")) + " " + " ".join(card.get("key_points") or [])
        if card.get("options"):
            text += " " + str(card["options"][card["correct"]])  # the option the card marks right
    return " ".join(text.split())


@pytest.mark.parametrize("file, card_id, snippet, opt, values", STATED,
                         ids=[f"{f}:{c or 'section'}:{o}" for f, c, _, o, _ in STATED])
def test_stated_defaults_are_the_registrys_and_torchs(file, card_id, snippet, opt, values):
    assert " ".join(snippet.split()) in source_text(file, card_id), f"{file} {card_id or ''} no longer states it"
    defaults = dc.OPTIMIZERS[opt].defaults
    for name, value in values.items():
        assert defaults[name] == value, f"the registry's {opt}.{name} is {defaults[name]}, the text says {value}"
    if opt in TORCH_CLASS:
        signature = inspect.signature(getattr(torch.optim, TORCH_CLASS[opt]).__init__).parameters
        for name, value in values.items():
            torch_default = signature[name].default
            assert tuple(torch_default) == value if isinstance(value, tuple) else torch_default == value, \
                f"torch.optim.{TORCH_CLASS[opt]}'s {name} defaults to {torch_default}, the text says {value}"
