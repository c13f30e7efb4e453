from descent_ui.grand_race import render_grand_race

render_grand_race()
