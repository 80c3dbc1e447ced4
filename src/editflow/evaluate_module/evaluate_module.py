"""editflow's code-edit metrics as a local Hugging Face `evaluate` module.

Hub-hosted metrics cannot load offline, but a local module can:

    import evaluate
    from editflow.evaluate_module import MODULE_DIR
    metric = evaluate.load(MODULE_DIR)          # or the path of this folder
    metric.compute(predictions=["x = 1"], references=["x = 2"], tokenizer="whitespace")

It is a thin wrapper over editflow.metrics (the same code as `editflow score`), so users of
`evaluate` get identical numbers: per-example lists of every metric (`per_example=True`) or
their means, plus sacrebleu's corpus BLEU and its signature.
"""
from __future__ import annotations

import datasets
import evaluate

_DESCRIPTION = (
    "Code-edit metrics of editflow: em, em_normalized (Coeditor), bleu (NLTK method2, "
    "auto re-weighting), codebleu (codebleu 0.7.0, Python), edit_sim (rapidfuzz ratio), "
    "rouge_l_p/r/f (PyPI rouge semantics), keystroke (Coeditor, cursor jump 4), levenshtein, "
    "lines_changed; corpus BLEU from sacrebleu. Definitions: docs/metrics.md.")

_CITATION = """\
@inproceedings{JinETAL25NotebookEdit, title={Learning to Edit Interactive Machine Learning Notebooks},
  author={Jin, Bihui and Wang, Jiayue and Nie, Pengyu}, year={2025}}
@inproceedings{wei2024coeditor, title={Coeditor: Leveraging Repo-level Diffs for Code Auto-editing},
  author={Wei, Jiayi and Durrett, Greg and Dillig, Isil}, booktitle={ICLR}, year={2024}}
"""

_KWARGS = """
Args:
    predictions: list of predicted code strings.
    references: list of reference code strings.
    tokenizer: "whitespace" (default) or a local Hugging Face tokenizer directory / cached name.
    per_example: if True, return one list per metric instead of the means.
Returns:
    dict: metric name -> mean (or list), plus corpus_bleu, sacrebleu_signature, tokenizer.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class EditflowMetrics(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS,
            features=datasets.Features({
                "predictions": datasets.Value("string"),
                "references": datasets.Value("string"),
            }),
            reference_urls=["docs/metrics.md"],
        )

    def _compute(self, predictions, references, tokenizer: str = "whitespace", per_example: bool = False):
        from editflow.metrics import METRIC_COLUMNS
        from editflow.metrics.batch import Pair, column_values, score_examples
        from editflow.metrics.bleu import corpus_bleu
        from editflow.metrics.tokenize import load_tokenizer

        tok = load_tokenizer(tokenizer)
        preds = ["" if p is None else p for p in predictions]
        refs = ["" if r is None else r for r in references]
        pairs = [Pair(p, r, pt, rt) for p, r, pt, rt in zip(preds, refs, tok.batch(preds), tok.batch(refs))]
        rows, _ = score_examples(pairs, workers=1)
        out: dict = {}
        for name in METRIC_COLUMNS:
            values = column_values(rows, name)
            if per_example:
                out[name] = values
            else:
                present = [float(v) for v in values if v is not None]
                out[name] = sum(present) / len(present) if present else float("nan")
        bleu, signature = corpus_bleu(preds, refs)
        out.update(corpus_bleu=bleu, sacrebleu_signature=signature, tokenizer=tok.name)
        return out
