"""Claim checks: every [S#] exists and each cited sentence is checked against its sources in
code (`check`; the sentence model in `sentences`, cleaning in `clean`, results and the
trust line in `verdicts`). One claim against its sources in `claims`, which reads texts with
`facts` and compares them by concept: `figures`, `names`, `polarity`, their neighbourhoods in
`context`, word forms in `words` (lemminflect), word lists in `lexicon`; the three verdicts
and the kinds of problem in `problems`. The optional model judge and the writer's repair
round are in `repair`.

May import stories, notes, select, llm, text and errors; never the crew, research or report.
"""
