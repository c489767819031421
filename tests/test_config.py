"""Training config: schema checks, YAML recipes, and the recipe < --config < flags precedence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from danet.config import (
    TrainConfig,
    load_recipe,
    merge,
    parse_set_options,
    recipe_names,
    recipe_path,
    recipe_summary,
    resolve_config,
)
from danet.errors import ConfigError


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_every_shipped_recipe_is_a_valid_config() -> None:
    for name in recipe_names():
        config = TrainConfig.from_dict(load_recipe(name), source=name)
        assert config.dataset == name
        assert (config.iters is None) != (config.epochs is None), name


def test_cityscapes_recipe_is_the_official_one() -> None:
    c = resolve_config("cityscapes")
    assert (c.model, c.batch_size, c.crop_size, c.base_size) == ("danet_resnet101", 8, (768, 768), 1024)
    assert (c.lr, c.head_lr_mult, c.momentum, c.weight_decay, c.poly_power) == (0.003, 10.0, 0.9, 1e-4, 0.9)
    assert (c.scale_mode, c.scale_range, c.flip, c.epochs) == ("short_side", (0.75, 2.0), True, 240)
    assert c.model_options["multi_grid"] is True
    assert (c.loss_weights.out, c.loss_weights.pam, c.loss_weights.cam) == (1.0, 1.0, 1.0)


def test_dataset_without_recipe_uses_the_default_recipe() -> None:
    assert recipe_path("folder").name == "default.yaml"
    assert resolve_config("folder").dataset == "folder"


def test_config_file_overrides_recipe_and_flags_override_both(tmp_path: Path) -> None:
    file = write_yaml(tmp_path / "c.yaml", {"lr": 0.1, "batch_size": 4, "val": {"flip": True}})
    config = resolve_config("cityscapes", config_file=file, overrides={"lr": 0.5})
    assert config.lr == 0.5  # flag beats file
    assert config.batch_size == 4  # file beats recipe
    assert config.crop_size == (768, 768)  # recipe where nobody else speaks
    assert config.val.flip is True and config.val.mode == "slide"  # nested sections merge key by key


def test_iters_from_a_higher_layer_replace_the_recipes_epochs(tmp_path: Path) -> None:
    config = resolve_config("cityscapes", overrides={"iters": 100})
    assert (config.iters, config.epochs) == (100, None)
    file = write_yaml(tmp_path / "c.yaml", {"iters": 10})
    assert resolve_config("cityscapes", config_file=file, overrides={"epochs": 2}).epochs == 2


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    file = write_yaml(tmp_path / "bad.yaml", {"learning_rate": 0.1})
    with pytest.raises(ConfigError, match=r"bad\.yaml.*'learning_rate'"):
        resolve_config("cityscapes", config_file=file)


def test_unknown_nested_key_names_its_section(tmp_path: Path) -> None:
    file = write_yaml(tmp_path / "bad.yaml", {"val": {"flipp": True}})
    with pytest.raises(ConfigError, match=r"bad\.yaml.*val\.'flipp'"):
        resolve_config("cityscapes", config_file=file)


def test_bad_value_type_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="batch_size must be an integer"):
        TrainConfig.from_dict({"dataset": "x", "batch_size": 2.5})
    with pytest.raises(ConfigError, match="flip must be true or false"):
        TrainConfig.from_dict({"dataset": "x", "flip": "yes please"})


def test_yaml_exponents_without_a_dot_are_numbers() -> None:
    # PyYAML reads `1e-4` as a string; the schema turns it into a float.
    config = TrainConfig.from_dict(yaml.safe_load("dataset: x\nweight_decay: 1e-4\nlr: 3e-3"))
    assert (config.weight_decay, config.lr) == (1e-4, 3e-3)


def test_dataset_argument_and_config_file_must_agree(tmp_path: Path) -> None:
    file = write_yaml(tmp_path / "c.yaml", {"dataset": "ade20k"})
    with pytest.raises(ConfigError, match="is for dataset 'ade20k'"):
        resolve_config("cityscapes", config_file=file)
    assert resolve_config(None, config_file=file).dataset == "ade20k"


def test_invalid_values_are_rejected() -> None:
    with pytest.raises(ConfigError, match="either iters or epochs"):
        TrainConfig(dataset="x", iters=10, epochs=2)
    with pytest.raises(ConfigError, match="lr must be positive"):
        TrainConfig(dataset="x", lr=0)


def test_round_trip_through_a_plain_dict_keeps_everything() -> None:
    config = resolve_config("ade20k")
    data = config.to_dict()
    for key in ("dataset", "data_root", "model", "model_options"):
        assert key in data  # evaluate reads these
    assert TrainConfig.from_dict(yaml.safe_load(yaml.safe_dump(data))) == config


def test_set_options_parse_dotted_keys_and_yaml_values() -> None:
    parsed = parse_set_options(["min_lr=1e-4", "val.flip=true", "model_options.aux=true", "name=run1"])
    assert parsed == {"min_lr": "1e-4", "val": {"flip": True}, "model_options": {"aux": True}, "name": "run1"}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_set_options(["lr"])


def test_merge_is_deep_only_for_nested_sections() -> None:
    merged = merge({"val": {"mode": "slide", "flip": False}, "crop_size": [1, 2]}, {"val": {"flip": True}})
    assert merged["val"] == {"mode": "slide", "flip": True}


def test_recipe_summary_lists_every_recipe() -> None:
    lines = recipe_summary()
    assert any(line.startswith("cityscapes: danet_resnet101, 240 epochs, batch 8") for line in lines)
    assert len(lines) == len(recipe_names()) + 1


def test_config_module_does_not_import_torch() -> None:
    code = "import sys, danet.config; danet.config.recipe_summary(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
