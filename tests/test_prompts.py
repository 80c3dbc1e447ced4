"""Prompt strings pinned against ipynb-edit's released code (llm-learning/code/baseline.py and
train_baseline.py), written out here by hand from its definitions:

- generate_code_prompt_whole_file: for cell i, "<Cell_i>\\n" + cell + "\\n<\\\\Cell_i>\\n";
- generate_code_prompt_cell_only_{old,new}: each selected cell + "\\n";
- generate_few_shot_prompt_*: per exemplar "### Instruction\\n[\\nCommit Message:\\" " + message +
  "\\"\\n\\n" + label + ":\\n'''\\n" + old + "\\n'''\\n]\\n\\n### Response:\\n" + new + "\\n<|EOT|>\\n\\n"
  (label "Original Code Cells" for the whole file, "Original Code" for cell only);
- generate_code_change_*_fs: an f-string indented by four spaces around the exemplars and the
  query (both views say "Original Code Cells" in the query).
"""
from __future__ import annotations

import pytest

from editflow import prompts, tasks
from editflow.dataset.synthetic import edit_row, edits_table
from editflow.prompts import Exemplar, render_prompt, render_target, task_template

FRAME_HEAD = (
    "\n"
    "    You are a skilled software developer with immense knowledge in software analysis and debugging.  \n"
    "    Your task is to generate Jupyter notebook Python code changes based on an Instruction provided.\n"
    "    The Instruction includes a commit message describing the problem the developer is solving and the "
    "original code cells that needs modification.\n"
    "    Your responses should only include the updated Python code in a cell format, reflecting the changes "
    "required by the commit message.\n"
    "\n"
    "    You will see some examples.\n"
    "    Each example contains an Instruction and a Response. The Response shows how the developer modifies the "
    "original code cells to solve the issue described in the commit message. \n"
    "    Learn from these examples below and apply the same approach to generate the response for Example 6, "
    "responding only with the updated Python code in a cell format.\n"
    "\n"
    "    "
)


def frame_tail(message: str, code: str) -> str:
    return ("\n\n"
            "    ### Instruction:\n"
            "    [\n"
            f"    Commit Message: \"{message}\"\n"
            "    Original Code Cells:\n"
            "    '''\n"
            f"    {code}\n"
            "    '''\n"
            "    ]\n"
            "\n"
            "    ### Response:\n"
            "    ")


SHOT_OLD = ["import numpy as np", "x = np.arange(3)"]
SHOT_NEW = ["import numpy as np", "x = np.arange(4)", "print(x)"]
QUERY_OLD = ["y = 1", "print(y)"]
QUERY_NEW = ["y = 2", "print(y)"]


def example(task: str, message: str, old: list[str], new: list[str]) -> Exemplar:
    """The exemplar / query exactly as the dataset stores it (the task's view, default cell format)."""
    row = tasks.get(task).build_view(edits_table([edit_row(old_cells=old, new_cells=new, message=message)]))
    r = row.to_pylist()[0]
    return Exemplar(r["message"], r["old_code"], r["target"])


def test_whole_file_one_shot_equals_baseline_py():
    shot = example("nb-file", "extend the range and print it", SHOT_OLD, SHOT_NEW)
    query = example("nb-file", "change y to two please", QUERY_OLD, QUERY_NEW)
    old_file = "<Cell_0>\nimport numpy as np\n<\\Cell_0>\n<Cell_1>\nx = np.arange(3)\n<\\Cell_1>\n"
    new_file = ("<Cell_0>\nimport numpy as np\n<\\Cell_0>\n<Cell_1>\nx = np.arange(4)\n<\\Cell_1>\n"
                "<Cell_2>\nprint(x)\n<\\Cell_2>\n")
    assert (shot.old_code, shot.target) == (old_file, new_file)
    few_shot = ("### Instruction\n[\nCommit Message:\" extend the range and print it\"\n\n"
                "Original Code Cells:\n'''\n" + old_file + "\n'''\n]\n\n### Response:\n" + new_file + "\n<|EOT|>\n\n")
    query_file = "<Cell_0>\ny = 1\n<\\Cell_0>\n<Cell_1>\nprint(y)\n<\\Cell_1>\n"
    expected = FRAME_HEAD + few_shot + frame_tail("change y to two please", query_file)
    template = task_template("nb-file", finetuned=False, shots=1)
    assert template.name == "ipynb-edit-kshot" and template.stop == ("<|EOT|>", "### Instruction")
    assert render_prompt(template, "nb-file", query, [shot]) == expected


def test_cell_only_one_shot_equals_baseline_py():
    shot = example("nb-cell", "extend the range and print it", SHOT_OLD, SHOT_NEW)
    query = example("nb-cell", "change y to two please", QUERY_OLD, QUERY_NEW)
    # cell_ops: replace old[1:2] -> new[1:3]; cell only = each selected cell + "\n"
    assert (shot.old_code, shot.target) == ("x = np.arange(3)\n", "x = np.arange(4)\nprint(x)\n")
    assert (query.old_code, query.target) == ("y = 1\n", "y = 2\n")
    few_shot = ("### Instruction\n[\nCommit Message:\" extend the range and print it\"\n\n"
                "Original Code:\n'''\nx = np.arange(3)\n\n'''\n]\n\n### Response:\nx = np.arange(4)\nprint(x)\n"
                "\n<|EOT|>\n\n")
    expected = FRAME_HEAD + few_shot + frame_tail("change y to two please", "y = 1\n")
    template = task_template("nb-cell", finetuned=False, shots=1)
    assert render_prompt(template, "nb-cell", query, [shot]) == expected


def test_finetuned_prompt_and_target_are_train_baseline_py_text_with_editflows_end_marker():
    """train_baseline.py's prepare_cell_examples text, up to its end: editflow ends targets
    with the fine-tuned template's own marker (then EOS), see docs/train.md."""
    query = example("nb-cell", "change y to two please", QUERY_OLD, QUERY_NEW)
    template = task_template("nb-cell", finetuned=True)
    text = render_prompt(template, "nb-cell", query) + render_target(template, query.target)
    assert text == ("### Instruction\n[\nCommit Message:\" change y to two please\"\n\nOriginal Code Cells:\n"
                    "'''\ny = 1\n\n'''\n]\n\n### Response:\ny = 2\n" + "\n" + template.end.lstrip("\n"))


def test_zero_shot_keeps_the_base_template_and_base_is_a_named_kshot_option():
    query = example("nb-cell", "change y to two please", QUERY_OLD, QUERY_NEW)
    shot = example("nb-cell", "extend the range and print it", SHOT_OLD, SHOT_NEW)
    assert task_template("nb-cell", finetuned=False).name == "base"
    assert task_template("nb-cell", finetuned=False, shots=0, kshot="ipynb-edit-kshot").name == "base"
    old = task_template("nb-cell", finetuned=False, shots=1, kshot="base")
    assert old.name == "base"
    got = render_prompt(old, "nb-cell", query, [shot])
    zero = render_prompt(old, "nb-cell", query)
    query_part = zero[zero.index("### Instruction:"):]
    assert got.startswith("You are a skilled software developer") and got.endswith(query_part)
    assert got.count("### Instruction:") == 2
    assert "It is your turn to response code in a cell format.\n### Response:\nx = np.arange(4)\nprint(x)\n\n### End\n" in got
    # a task with a template of its own keeps it for k-shot
    assert task_template("instruct", finetuned=False, shots=2).name == "instruct"


def test_kshot_words_fall_back_for_tasks_that_do_not_define_them():
    template = prompts.load_template("ipynb-edit-kshot")
    assert template.missing_words({"artifact": "Python", "format": "a file format", "code_label": "Code"}) == []
    assert template.missing_words({"format": "f", "code_label": "c"}) == ["artifact"]
    py_unit = tasks.get("py-unit").labels
    assert "kshot_artifact" not in py_unit
    text = render_prompt(task_template("py-unit", finetuned=False, shots=1), "py-unit",
                         Exemplar("m", "a"), [Exemplar("n", "b", "c")])
    assert f"generate {py_unit['artifact']} code changes" in text and "the original code that needs" in text
    assert f"Commit Message:\" n\"\n\n{py_unit['code_label']}:\n'''\nb\n'''" in text and "{" not in text


def test_unknown_kshot_template_is_a_clear_error():
    with pytest.raises(prompts.TemplateError, match="unknown prompt template 'nope'"):
        task_template("nb-cell", finetuned=False, shots=1, kshot="nope")


class _CharTokenizer:
    """One id per character, BOS 1 with special tokens, EOS 2: enough to read labels back."""
    eos_token_id = 2

    def __call__(self, texts, add_special_tokens=True):
        return {"input_ids": [[1] * add_special_tokens + [ord(c) for c in t] for t in texts]}


def test_every_training_target_ends_with_the_end_marker_and_eos_and_both_carry_loss():
    from editflow.train import data

    query = example("nb-cell", "change y to two please", QUERY_OLD, QUERY_NEW)
    row = {"example_id": "q", "prompt_fields": {"message": query.message, "old_code": query.old_code},
           "target": query.target}
    (enc,), _ = data.encode_rows([row], "nb-cell", _CharTokenizer(), max_length=4096)
    end = task_template("nb-cell", finetuned=True).end
    tail = [ord(c) for c in "y = 2\n" + end] + [2]
    assert list(enc.input_ids[-len(tail):]) == tail and enc.n_target == len(tail)
    labels = data.collate_packed([enc])["labels"][0].tolist()
    assert labels[-len(tail):] == tail and set(labels[:-len(tail)]) == {-100}
