"""Coeditor (Wei et al.): repo-level, multi-round Python editing — the py-unit task's library.

units (split modules into code units) -> changes (a commit's ordered unit changes) -> problems
(EncInput/EncOutput examples with prior changes and Jedi signatures as references) ->
encoding.decode (model output -> post-edit unit) -> evaluation (single-round EM, OneLine,
multi-round simulation). docs/coeditor.md describes the whole.
"""
