from descent_ui.family import render_family_table

render_family_table()
