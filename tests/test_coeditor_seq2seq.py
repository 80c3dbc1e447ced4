"""py-unit with a seq2seq model: markers as tokens, and a tiny random T5 that trains and generates."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import AutoModelForSeq2SeqLM, PreTrainedTokenizerFast, T5Config  # noqa: E402

from editflow.coeditor import encoding as enc  # noqa: E402
from editflow.coeditor import seq2seq  # noqa: E402
from editflow.coeditor.markers import marker_strings, register_markers, resize_embeddings  # noqa: E402
from editflow.coeditor.units import source_lines  # noqa: E402

OLD = "def f(x):\n    return x\n"
NEW = "def f(x):\n    return x + 1\n"


def _tokenizer() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([OLD, NEW] * 4, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def test_markers_become_special_tokens_or_stay_text():
    tok = _tokenizer()
    n = len(tok)
    kept = register_markers(tok, 4, allow_new_tokens=False)
    assert (kept.mode, kept.added, len(tok)) == ("escaped", 0, n)
    choice = register_markers(tok, 4)
    assert (choice.mode, choice.added, choice.n_markers, choice.vocab_size) == ("special", 6, 6, n + 6)
    assert [tok.convert_ids_to_tokens(tok.encode(m, add_special_tokens=False)) for m in marker_strings(4)] == \
        [[m] for m in marker_strings(4)]
    again = register_markers(tok, 4)
    assert again.mode == "native" and "single tokens" in again.card


def test_tiny_t5_learns_a_py_unit_target_and_its_output_decodes():
    import torch

    torch.set_num_threads(1)  # a 32-wide model: threads only add overhead on a shared machine
    tok = _tokenizer()
    choice = register_markers(tok, 4)
    cfg = T5Config(vocab_size=len(tok) - 6, d_model=32, d_ff=64, num_layers=1, num_heads=2, d_kv=16,
                   decoder_start_token_id=tok.pad_token_id, pad_token_id=tok.pad_token_id,
                   eos_token_id=tok.eos_token_id)
    model = AutoModelForSeq2SeqLM.from_config(cfg)
    assert seq2seq.is_seq2seq(model.config) and seq2seq.lora_targets(model) == ["q", "v"]
    resize_embeddings(model, choice)
    assert model.get_input_embeddings().num_embeddings == len(tok)
    v = enc.view(enc.line_diff(source_lines(OLD), source_lines(NEW)), set())
    source, target = enc.encode_input(v), enc.encode_output(v)
    batch = seq2seq.encode_pairs(tok, [source], [target])
    assert batch["labels"].shape[0] == 1 and (batch["labels"] != seq2seq.IGNORE).all()
    losses = seq2seq.train_steps(model, tok, [source], [target], steps=25, lr=2e-2)
    assert losses[-1] < losses[0] / 2
    out = seq2seq.generate(model, tok, [source], max_new_tokens=16)
    assert len(out) == 1
    decoded = enc.decode(out[0], OLD)          # whatever it wrote, decoding never raises
    assert decoded.code in (NEW, OLD)
