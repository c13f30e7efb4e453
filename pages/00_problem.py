from descent_ui.section import render_section

render_section("problem")
