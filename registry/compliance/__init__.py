"""Compliance checks (合规检查) on what the patrol reads: the office's rule files (rules.py), the matcher
that runs them over a post's full text (matcher.py, personal.py) and the findings a person reviews
(findings.py). No finding is a verdict by itself: a veto candidate stays a candidate until confirmed.
"""
