"""Blind deconfliction: which volumes conflict, without showing anyone the plans."""
