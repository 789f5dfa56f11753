"""scripts/pretrain_base_model.py --set: fields of a size changed by name, bad ones refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.base_model import resolve_config


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("pretrain_base_model")


def test_parse_sets_reads_json_values_and_plain_strings(script) -> None:
    changes = script.parse_sets(["lookup_share=0.5", "later_lr=1e-3", "copy_documents=lookups",
                                 "max_wall_s=null", "copy_own_schedule=true"])
    assert changes == {"lookup_share": 0.5, "later_lr": 0.001, "copy_documents": "lookups",
                       "max_wall_s": None, "copy_own_schedule": True}
    assert script.parse_sets([]) == {}
    with pytest.raises(ValueError, match="no such field; allowed: .*'lookup_share'"):
        script.parse_sets(["lookup_shares=0.5"])
    with pytest.raises(ValueError, match="takes FIELD=VALUE"):
        script.parse_sets(["lookup_share"])
    with pytest.raises(ValueError, match="given twice"):
        script.parse_sets(["later_lr=1e-3", "later_lr=3e-4"])


def test_main_trains_the_changed_config_and_refuses_bad_values(script, monkeypatch, tmp_path, capsys) -> None:
    seen = {}

    def fake_pretrain(config, out, **kwargs):
        seen["config"] = config
        return Path(out)

    monkeypatch.setattr(script, "pretrain", fake_pretrain)
    assert script.main(["--size", "lookupreader", "--out", str(tmp_path), "--set", "lookup_share=0.5",
                        "--set", "later_lr=3e-4"]) == 0
    expected = resolve_config("lookupreader").replace(lookup_share=0.5, later_lr=3e-4)
    assert seen["config"] == expected
    # a value the config refuses: argparse's exit 2 with the config's own message, nothing trained
    seen.clear()
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--size", "lookupreader", "--out", str(tmp_path), "--set", "lookup_share=2"])
    assert exit_info.value.code == 2 and not seen
    assert "lookup_share must be a number in [0, 1]" in capsys.readouterr().err
