"""Stories: notes grouped by the event they tell, with an identity across runs (`group`),
and the levels of summaries when they do not fit the crew's window (`reduce`).

May import notes, select, llm, store, text and errors.
"""
