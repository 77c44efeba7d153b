"""Each default is defined once in substance: the CLI flags, the config files and the typed
configs must agree, so that the library's defaults cannot drift from the command line's."""

import dataclasses
import os
import runpy

import runner
from omd.sac.config import RunConfig, SACConfig
from omd.soft_q import config as soft_q_config
from omd.soft_q.config import SoftQConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def flag_defaults(script):
    return {name: flag.default for name, flag in runner.read_flags(os.path.join(ROOT, script)).flags.items()}


def _same(a, b):
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


def test_cartpole_flags_are_the_config_fields_with_the_same_defaults():
    """Through ``FLAG_NAMES``, the library field -> CLI flag table that the CLI builds its config with."""
    flags = flag_defaults("cartpole/train.py")
    fields = {f.name for f in dataclasses.fields(SoftQConfig)}
    assert set(soft_q_config.FLAG_NAMES) <= fields, set(soft_q_config.FLAG_NAMES) - fields
    defaults = soft_q_config.to_flags(SoftQConfig())  # keyed by flag, with the CLI's values
    for field in sorted(fields):
        name = soft_q_config.FLAG_NAMES.get(field, field)
        assert name in flags, f"SoftQConfig.{field} has no --{name} flag"
        assert _same(flags[name], defaults[name]), (field, name, flags[name], defaults[name])
    assert soft_q_config.from_flags(flags) == SoftQConfig()
    for implicit in ("identity", "cg"):  # the one field whose flag takes other values
        config = SoftQConfig(implicit=implicit, max_steps=7)
        assert soft_q_config.from_flags(soft_q_config.to_flags(config)) == config


def test_mujoco_flags_config_file_and_configs_agree():
    flags = flag_defaults("mujoco/train.py")
    config = runpy.run_path(os.path.join(ROOT, "mujoco", "configs", "omd_default.py"))["get_config"]()
    for cls in (SACConfig, RunConfig):
        for field in dataclasses.fields(cls):
            sources = {"flag": flags.get(field.name), "config file": config.get(field.name)}
            found = {k: v for k, v in sources.items() if field.name in (flags if k == "flag" else config)}
            assert found, f"{cls.__name__}.{field.name} is neither a flag nor a config key"
            for where, value in found.items():
                assert _same(value, field.default), (cls.__name__, field.name, where, value, field.default)

