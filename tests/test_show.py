"""``spikelearn show`` prints the whole network of every built-in scenario from its description (the
task's part included) without building it."""

import pytest

from spikelearn.cli import main
from spikelearn.scenario import builtin_scenarios


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_show_prints_every_builtin_network(name, capsys):
    assert main(["show", name]) == 0
    out = capsys.readouterr().out
    assert f"scenario {name.lower()}" in out.lower()
    assert "populations (" in out and "connections (" in out and "records (" in out
    assert "builds Brian2 objects in Python" not in out


def test_show_names_where_each_item_comes_from(capsys):
    assert main(["show", "reward-estimation"]) == 0
    out = capsys.readouterr().out
    assert "rec: rates -> rates, connect all  [connections.rec]" in out
    assert "decoder: rates -> readout, connect all  [task reward_coding]" in out
    assert "plasticity reward_hebbian:" in out and "reads signals: reward, learn" in out
    assert "reward = R_post" in out  # the global signal the task provides


def test_show_refuses_bad_task_parameters_naming_the_key(capsys):
    assert main(["show", "reward-estimation", "--set", 'task.parameters.inputs="stimulus"']) == 1
    assert "task: task reward_coding: no population 'stimulus' (parameter 'inputs')" in capsys.readouterr().err
