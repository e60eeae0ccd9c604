"""What the reader wants: ratings of stories (and of outlets and terms) kept per crew in the
store (`ratings`), what a story or an item is about (`features`), the readable model learned
from the ratings (`model`), and its careful use in a run (`apply`): preferred sources read
first, stories ranked by topic and preference together, predicted skips moved to "Also in the
news" with the rule that moved them, never dropped.

May import stories, notes, select, store, config, text and errors.
"""
