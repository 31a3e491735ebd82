"""Plugin discovery: entry points, single files, broken and duplicate plugins, unknown names."""

import pytest

from spikelearn.errors import PluginError
from spikelearn.registry import Registry

RULE = '''
from spikelearn.plugin import NeuronVar, Param, PlasticityRule

class {cls}(PlasticityRule):
    name = "{name}"
    description = "test rule"
    parameters = {{"eta": Param("0.01", "learning rate"), "tau": Param("10*ms", "trace decay")}}
    post_variables = {{"r": NeuronVar("dr/dt = -r/tau : 1", "r += 1")}}
    on_pre = "w += eta*r_post"
'''


def test_builtins_come_from_the_builtin_table(registry):
    assert "stdp_additive" in registry.available("plasticity")
    assert {"lif_cond", "poisson", "spike_generator"} <= set(registry.available("models"))
    assert "song_stdp" in registry.available("tasks")
    assert registry.origin("plasticity", "stdp_additive").startswith("built-in 'stdp_additive'")


def test_file_plugin_is_registered(tmp_path):
    path = tmp_path / "myrule.py"
    path.write_text(RULE.format(cls="MyRule", name="my_rule"))
    reg = Registry([path])
    assert reg.get("plasticity", "my_rule").description == "test rule"
    assert reg.origin("plasticity", "my_rule") == f"file {path}"


def test_duplicate_name_is_reported_with_both_sources(tmp_path):
    path = tmp_path / "dup.py"
    path.write_text(RULE.format(cls="Dup", name="stdp_additive"))
    with pytest.raises(PluginError, match=r"'stdp_additive' is already registered by built-in 'stdp_additive'.*duplicate from file"):
        Registry([path])


@pytest.mark.parametrize("mutation, expected", [
    (('"dr/dt = -r/tau : 1"', '"dr/dt = -r/tau : 1 : 2"'), "equations do not parse"),
    (('on_pre = "w += eta*r_post"', 'on_pre = "w += 0.01*r_post"'), r"declared parameter\(s\) \['eta'\] are not used"),
    (('"eta": Param("0.01", "learning rate")', '"eta": Param("0.01*furlongs", "learning rate")'), "unknown unit 'furlongs'"),
    (('"eta": Param("0.01", "learning rate")', '"w": Param("0.01", "learning rate")'), "clash with variables or reserved names"),
    (('description = "test rule"', 'description = ""'), "missing `description`"),
])
def test_broken_plugin_is_named(tmp_path, mutation, expected):
    path = tmp_path / "broken.py"
    path.write_text(RULE.format(cls="Broken", name="broken_rule").replace(*mutation))
    with pytest.raises(PluginError, match=expected) as info:
        Registry([path])
    assert "'broken_rule'" in str(info.value) or "broken" in str(info.value)


def test_import_error_in_plugin_file_names_the_file(tmp_path):
    path = tmp_path / "bad_import.py"
    path.write_text("import not_a_module_anywhere\n")
    with pytest.raises(PluginError, match=rf"plugin file {path}: cannot be imported: ModuleNotFoundError"):
        Registry([path])


def test_unknown_name_lists_available(registry):
    with pytest.raises(PluginError, match=r"unknown plasticity rule 'stdp_additiv' \(did you mean 'stdp_additive'\?\); available: .*stdp_additive"):
        registry.get("plasticity", "stdp_additiv")


def test_broken_entry_point_is_reported_not_fatal(monkeypatch):
    from importlib.metadata import EntryPoint

    import spikelearn.registry as reg_mod

    real = reg_mod.entry_points

    def fake(group):
        eps = list(real(group=group))
        if group == "spikelearn.plasticity":
            eps.append(EntryPoint("ghost", "no_such_module_xyz:Rule", group))
        return eps

    monkeypatch.setattr(reg_mod, "entry_points", fake)
    with pytest.warns(UserWarning, match="broken plasticity rule 'ghost'"):
        reg = Registry()
    assert "ghost" in reg.broken["plasticity"]
    assert "stdp_additive" in reg.available("plasticity")
    with pytest.raises(PluginError, match="'ghost' is installed but broken: cannot be loaded from no_such_module_xyz:Rule"):
        reg.get("plasticity", "ghost")
