"""Light headers for brian2cuda's generated project: most ``.cu`` files compile without Thrust.

Every file brian2cuda writes includes ``objects.h``, which includes ``thrust/device_vector.h`` and
``thrust/host_vector.h`` to declare the dynamic arrays (synaptic variables, monitors' recordings, the
synapse indices). Parsing those headers costs nvcc about 13 of the 17 CPU seconds a typical code object
takes (a file that includes them and nothing else: 14.2 s; one with ``cuda_runtime.h`` only: 1.4 s).
`transform_file` rewrites each file on its way to disk so that it needs no Thrust where that is possible:

- ``objects.h`` gets a sibling ``objects_nothrust.h``: the same declarations without the Thrust includes
  and the Thrust-typed names, plus one small host function per Thrust-typed name and operation
  (`accessors`), defined at the end of ``objects.cu`` (which keeps the full header). The lists of
  spike-space pointers become ``std::vector`` (host containers of device pointers: ``size``, ``[]``,
  ``begin``/``end``, ``push_back`` and ``std::rotate`` are all the generated code does with them).
- A ``.cu`` file whose only uses of Thrust-typed names are the operations below is rewritten to call the
  accessors and includes ``objects_nothrust.h`` / ``cuda_utils_nothrust.h``:

  ============================================  =======================================
  generated code                                becomes
  ============================================  =======================================
  ``thrust::raw_pointer_cast(&N[0])``           ``_sl_ptr_N()``
  ``thrust::raw_pointer_cast(&N[i][0])`` (2-d)  ``_sl_ptr_N(i)``
  ``N.size()``, ``N.clear()``,                  ``_sl_size_N()``, ``_sl_clear_N()``,
  ``N.shrink_to_fit()``                         ``_sl_shrink_to_fit_N()``
  ``N.resize(n)``, ``N.push_back(v)``           ``_sl_resize_N(n)``, ``_sl_push_back_N(v)``
  ``N[i].resize(n)`` etc. (2-d)                 ``_sl_resize_N(i, n)`` etc.
  ``N[i] = v;`` (device vector)                 ``_sl_set_N(i, v);``
  ``N[i]`` (host vector: a reference)           ``_sl_ptr_N()[i]``
  ``_dynamic_array_X = dev_dynamic_array_X;``   ``_sl_assign__dynamic_array_X()`` (and back)
  ============================================  =======================================

  Each accessor's body is the replaced expression itself, so the program does exactly what brian2cuda
  wrote; only where the code lives changes. A file with any other use (a Thrust algorithm, an iterator,
  a device element read, a call with other arguments) is left exactly as brian2cuda wrote it, with the
  full headers: slower, never different. The brian2cuda version this was written for is 1.0b1; if its
  ``objects.h`` ever declares something else with a Thrust type, nothing is rewritten.

Code objects are written before ``objects.h`` (whose declarations the rewrite needs), so `LightWriter`
holds the ``.cu`` files back until ``objects.h`` has been written.
"""

import os
import re
from pathlib import Path

__all__ = ["CPP_STANDARD", "LIGHT_OBJECTS", "LIGHT_CUDA_UTILS", "transform_file", "thrust_declarations",
           "rewrite", "LightWriter"]

CPP_STANDARD = "-std=c++17"
LIGHT_OBJECTS, LIGHT_CUDA_UTILS = "objects_nothrust.h", "cuda_utils_nothrust.h"
ACCESSOR_PREFIX = "_sl_"

_THRUST_INCLUDE = re.compile(r"^\s*#\s*include\s*<thrust/[^>]*>\s*$")
#: ``extern thrust::host_vector<T> N;`` / ``device_vector<T> N;`` / ``device_vector<T>* N;`` (2-d)
_DECLARATION = re.compile(r"^\s*extern\s+thrust::(host|device)_vector<\s*([\w:]+\s*\**)\s*>\s*(\*?)\s*(\w+)\s*;\s*$")
_POINTER_LIST = re.compile(r"thrust::host_vector<(\w+)\s*\*>")
#: methods the generated code calls on dynamic arrays, with their number of arguments
_METHODS = {"size": 0, "clear": 0, "shrink_to_fit": 0, "resize": 1, "push_back": 1}
#: an identifier not preceded by another qualifier or a member access (``brian::`` is allowed)
_HEAD = r"(?<![\w.>:])((?:brian::)?)"


def thrust_declarations(objects_h):
    """The Thrust-typed names ``objects.h`` declares: ``{name: (kind, element type)}``.

    ``kind`` is ``"host"`` or ``"device"`` (a vector) or ``"device2d"`` (a pointer to an array of device
    vectors, one per recorded index of a state monitor). Returns None when ``objects.h`` uses Thrust in
    a line this module does not understand (then nothing is rewritten).
    """
    names = {}
    for line in _POINTER_LIST.sub(r"std::vector<\1*>", objects_h).splitlines():
        if _THRUST_INCLUDE.match(line):
            continue
        match = _DECLARATION.match(line)
        if match:
            system, element, star, name = match.groups()
            kind = "device2d" if star else system
            if kind == "device2d" and system != "device":
                return None
            names[name] = (kind, " ".join(element.split()))
        elif "thrust" in line:
            return None
    return names


def _pairs(decls):
    """(host name, device name) of the dynamic arrays that brian2cuda keeps on both sides."""
    return [(name, "dev" + name) for name, (kind, _) in decls.items()
            if kind == "host" and name.startswith("_dynamic_array_") and decls.get("dev" + name, ("",))[0] == "device"]


def accessors(decls):
    """``(declarations, definitions)``: C++ text of the accessor functions for ``decls``."""
    declared, defined = [], []

    def add(signature, body):
        declared.append(f"{signature};")
        defined.append(f"{signature} {{ {body} }}")

    p = ACCESSOR_PREFIX
    for name, (kind, element) in sorted(decls.items()):
        # a 2-d array (one vector per index i) takes the index first
        params, lead, ref = ("size_t i", "size_t i, ", f"{name}[i]") if kind == "device2d" else ("", "", name)
        add(f"{element}* {p}ptr_{name}({params})", f"return thrust::raw_pointer_cast(&{ref}[0]);")
        add(f"size_t {p}size_{name}({params})", f"return {ref}.size();")
        add(f"void {p}clear_{name}({params})", f"{ref}.clear();")
        add(f"void {p}shrink_to_fit_{name}({params})", f"{ref}.shrink_to_fit();")
        add(f"void {p}resize_{name}({lead}size_t n)", f"{ref}.resize(n);")
        add(f"void {p}push_back_{name}({lead}{element} v)", f"{ref}.push_back(v);")
        if kind == "device":
            add(f"void {p}set_{name}(size_t i, {element} v)", f"{name}[i] = v;")
    for host, dev in _pairs(decls):
        add(f"void {p}assign_{host}()", f"{host} = {dev};")
        add(f"void {p}assign_{dev}()", f"{dev} = {host};")
    return "\n".join(declared), "\n".join(defined)


def _arguments(text, start):
    """Top-level comma-separated arguments of the call whose ``(`` is at ``start - 1``, and the index
    after its ``)``; None if the parentheses do not balance."""
    depth, args, current = 0, [], start
    for pos in range(start, len(text)):
        char = text[pos]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                if char != ")":
                    return None
                args.append(text[current:pos].strip())
                return ([] if args == [""] else args), pos + 1
            depth -= 1
        elif char == "," and depth == 0:
            args.append(text[current:pos].strip())
            current = pos + 1
    return None


def _rewrite_methods(text, decls, names):
    call = re.compile(_HEAD + rf"({names})((?:\[[^\[\]]+\])?)\.({'|'.join(_METHODS)})\(")
    out, pos = [], 0
    while True:
        match = call.search(text, pos)
        if match is None:
            break
        qualifier, name, index, method = match.groups()
        parsed = _arguments(text, match.end())
        two_d = decls[name][0] == "device2d"
        if parsed is None or len(parsed[0]) != _METHODS[method] or bool(index) != two_d:
            out.append(text[pos:match.end()])  # left as is: the file keeps the full headers
            pos = match.end()
            continue
        args, end = parsed
        if two_d:
            args = [index[1:-1].strip()] + args
        out.append(text[pos:match.start()])
        out.append(f"{qualifier}{ACCESSOR_PREFIX}{method}_{name}({', '.join(args)})")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def rewrite(contents, decls):
    """``contents`` (a ``.cu`` file) calling the accessors instead of Thrust, or None where it cannot.

    None means the file uses a Thrust-typed name (or Thrust itself) in a way the table in the module
    docstring does not cover; it must then keep the full headers, unchanged.
    """
    if decls is None:
        return None
    if not decls:
        return None if "thrust" in contents else contents
    p = ACCESSOR_PREFIX
    names = "|".join(re.escape(n) for n in sorted(decls, key=len, reverse=True))
    kinds = {name: kind for name, (kind, _) in decls.items()}

    def pointer(match):
        qualifier, name, index = match.groups()
        if (kinds[name] == "device2d") != bool(index):
            return match.group(0)
        return f"{qualifier}{p}ptr_{name}({index[1:-1].strip() if index else ''})"

    text = re.sub(rf"thrust::raw_pointer_cast\(\s*&\s*((?:brian::)?)({names})((?:\[[^\[\]]+\])?)\[0\]\s*\)",
                  pointer, contents)
    text = _rewrite_methods(text, decls, names)

    pairs = {(host, dev) for host, dev in _pairs(decls)}
    pairs |= {(dev, host) for host, dev in pairs}

    def assignment(match):
        indent, left, right = match.groups()
        return f"{indent}{p}assign_{left}();" if (left, right) in pairs else match.group(0)

    text = re.sub(rf"^([ \t]*)({names})[ \t]*=[ \t]*({names})[ \t]*;[ \t]*$", assignment, text, flags=re.M)

    def device_set(match):
        indent, qualifier, name, index, value = match.groups()
        if kinds[name] != "device":
            return match.group(0)
        return f"{indent}{qualifier}{p}set_{name}({index.strip()}, {value.strip()});"

    text = re.sub(rf"^([ \t]*)((?:brian::)?)({names})\[([^\[\]]+)\][ \t]*=(?!=)([^;\n]+);[ \t]*$",
                  device_set, text, flags=re.M)

    def host_element(match):
        qualifier, name = match.groups()
        return f"{qualifier}{p}ptr_{name}()[" if kinds[name] == "host" else match.group(0)

    text = re.sub(_HEAD + rf"({names})\[", host_element, text)
    text = "\n".join(line for line in text.split("\n") if not _THRUST_INCLUDE.match(line))
    if "thrust" in text or set(re.findall(r"\w+", text)) & set(decls):
        return None
    return text


def _light_objects_header(objects_h, decls):
    """``objects.h`` without the Thrust includes and the Thrust-typed names, declaring the accessors
    (inside the include guard, before its closing ``#endif``); None if there is no such ``#endif``."""
    kept = [line for line in objects_h.splitlines()
            if not _THRUST_INCLUDE.match(line) and not _DECLARATION.match(line)]
    text = "\n".join(kept)
    end = text.rfind("#endif")
    if end < 0:
        return None
    declared, _ = accessors(decls)
    block = ("// accessors of the Thrust-typed names (defined in objects.cu)\nnamespace brian {\n"
             + declared + "\n}\n\n")
    return "// objects.h without Thrust (written by spikelearn.cuda_light)\n" + text[:end] + block + text[end:] + "\n"


def _light_cuda_utils():
    """brian2cuda's ``brianlib/cuda_utils.h`` without ``thrust/system_error.h`` (its Thrust check macro
    catches ``...``), including the light ``objects.h``; None for a brian2cuda whose checks need Thrust."""
    from brian2cuda import __file__ as package

    text = (Path(package).parent / "brianlib" / "cuda_utils.h").read_text()
    lines = [line for line in text.splitlines() if not _THRUST_INCLUDE.match(line)]
    text = _use_light_headers("\n".join(lines) + "\n")
    if "thrust::" in text:
        return None
    return "// brianlib/cuda_utils.h without Thrust (written by spikelearn.cuda_light)\n" + text


def _use_light_headers(contents):
    contents = re.sub(r'#include\s*"objects\.h"', f'#include "{LIGHT_OBJECTS}"', contents)
    return re.sub(r'#include\s*"brianlib/cuda_utils\.h"', f'#include "{LIGHT_CUDA_UTILS}"', contents)


def transform_file(filename, contents, decls):
    """The files to write for one file brian2cuda writes: ``[(name, contents), ...]``.

    ``decls`` is `thrust_declarations` of the project's ``objects.h`` (None: not known, or not
    understood; then every file keeps the full headers). ``$SPIKELEARN_CUDA_LIGHT=0`` switches the light
    headers off (every file but the makefile exactly as brian2cuda wrote it), e.g. to tell whether a
    problem comes from them.
    """
    if filename == "makefile":
        return [(filename, contents.replace("-std=c++11", CPP_STANDARD))]
    if os.environ.get("SPIKELEARN_CUDA_LIGHT") == "0":  # off: every file as brian2cuda wrote it
        return [(filename, contents)]
    if filename in ("objects.h", "objects.cu"):
        contents = _POINTER_LIST.sub(r"std::vector<\1*>", contents)
    if decls is None:
        return [(filename, contents)]
    if filename == "objects.h":
        header, utils = _light_objects_header(contents, decls), _light_cuda_utils()
        if header is None or utils is None:
            raise ValueError("objects.h or cuda_utils.h is not as expected")
        return [(filename, contents), (LIGHT_OBJECTS, header), (LIGHT_CUDA_UTILS, utils)]
    if filename == "objects.cu":
        _, defined = accessors(decls)
        return [(filename, contents + "\n// accessors for the light headers (written by spikelearn.cuda_light)\n"
                 "namespace brian {\n" + defined + "\n}\n")]
    if filename.endswith(".cu"):
        light = rewrite(contents, decls)
        if light is not None:
            return [(filename, _use_light_headers(light))]
    return [(filename, contents)]


class LightWriter:
    """Wraps brian2cuda's ``CUDAWriter.write``: holds ``.cu`` files back until ``objects.h`` is known,
    then writes every file through `transform_file`."""

    def __init__(self, write):
        self._write = write

    def __call__(self, writer, filename, contents):
        state = writer.__dict__.setdefault("_spikelearn_light", {"decls": None, "known": False, "held": []})
        if filename.endswith(".*"):  # a (.cu, .h) pair: the original splits it and calls write again
            return self._write(writer, filename, contents)
        if filename == "objects.h":
            decls = thrust_declarations(contents)
            try:
                files = transform_file(filename, contents, decls)
            except ValueError:
                decls, files = None, transform_file(filename, contents, None)
            state["decls"], state["known"] = decls, True
            for name, text in files:
                self._write(writer, name, text)
            self._release(writer, state)
            return None
        if not state["known"] and filename.endswith(".cu"):
            state["held"].append((filename, contents))
            return None
        if filename == "makefile":  # the last file: nothing may stay held
            self._release(writer, state)
        return self._emit(writer, state, filename, contents)

    def _release(self, writer, state):
        held, state["held"] = state["held"], []
        for name, text in held:
            self._emit(writer, state, name, text)

    def _emit(self, writer, state, filename, contents):
        for name, text in transform_file(filename, contents, state["decls"] if state["known"] else None):
            self._write(writer, name, text)
