"""Each default is defined once in substance: the CLI flags, the config files and the typed
configs must agree, so that the library's defaults cannot drift from the command line's."""

import dataclasses
import os
import runpy

from omd.sac.config import RunConfig, SACConfig
from omd.soft_q.config import SoftQConfig
from omd.sweep import flagcheck

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def flag_defaults(script):
    info, _ = flagcheck.inspect(script, [], cwd=ROOT)
    return {name: f["default"] for name, f in info.items()}


def _same(a, b):
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


def test_cartpole_flags_are_the_config_fields_with_the_same_defaults():
    flags = flag_defaults("cartpole/train.py")
    for field in dataclasses.fields(SoftQConfig):
        assert field.name in flags, f"SoftQConfig.{field.name} has no --{field.name} flag"
        assert _same(flags[field.name], field.default), (field.name, flags[field.name], field.default)


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

