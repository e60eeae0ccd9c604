"""One crew run, end to end: the stages in order, resume, interrupts, the run budget,
publishing, delivery, and the estimate of `scoutcrew plan`.

May import every stage below it; only scale, the CLI and tests import it.
"""
