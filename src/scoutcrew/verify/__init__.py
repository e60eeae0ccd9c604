"""Claim checks: every [S#] exists and each cited sentence is checked against its sources in
code (`check`; the sentence model in `sentences`, cleaning in `clean`, results in `verdicts`;
one claim in `claims`, `facts`, `lexicon`); the optional model judge and the writer's repair
round (`repair`).

May import stories, notes, select, llm, text and errors; never the crew, research or report.
"""
