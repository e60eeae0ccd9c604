"""The claim check as it stood on main at commit a0611d6, before the three verdicts: frozen
here so that benchmarks/bench_verify_public.py can run it beside the current check on the same
pairs in the same run. Only that benchmark imports it; the package never does.

    from frozen_check_main.check import verify   # supported: True/False per cited sentence

Files copied unchanged from src/scoutcrew/verify/{check,claims,facts,lexicon}.py and
src/scoutcrew/text/terms.py, except their imports (links.py comes from the package).
"""
