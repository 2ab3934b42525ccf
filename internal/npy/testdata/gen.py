#!/usr/bin/python3
"""Regenerates the NumPy-made test files of package npy and expected.json.

Run from anywhere:  /usr/bin/python3 internal/npy/testdata/gen.py

Every .npy and .npz here is written by NumPy itself, so the Go tests check
the reader against real files and the writer against np.save byte for byte.
expected.json records, per file, the dtype and shape and the values as
strings (integers in decimal, floats as float.hex, exact), or the class of
error the reader must return.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


INTS = {
    "i1": [-128, -1, 0, 1, 127],
    "i2": [-32768, -1, 0, 1, 32767],
    "i4": [-2147483648, -1, 0, 1, 2147483647],
    "i8": [-9223372036854775808, -1, 0, 1, 9223372036854775807],
    "u1": [0, 1, 127, 128, 255],
    "u2": [0, 1, 32768, 65534, 65535],
    "u4": [0, 1, 2147483648, 4294967294, 4294967295],
    "u8": [0, 1, 9223372036854775808, 18446744073709551614, 18446744073709551615],
}
FLOATS = {
    # zero, negative zero, ordinary values, the largest finite, the smallest
    # subnormal, infinities and NaN of each precision
    "f2": [0.0, -0.0, 1.0, -2.5, 65504.0, 2.0**-24, float("inf"), float("-inf"), float("nan")],
    "f4": [0.0, -0.0, 1.5, -3.25e-3, 3.4028234663852886e38, 2.0**-149, float("inf"), float("-inf"), float("nan")],
    "f8": [0.0, -0.0, 0.1, -1e300, 1.7976931348623157e308, 5e-324, float("inf"), float("-inf"), float("nan")],
}


def values(a):
    flat = a.reshape(-1)
    if a.dtype.kind == "f":
        return [float(v).hex() for v in flat]
    return [str(int(v)) for v in flat]


def describe(a):
    return {"dtype": a.dtype.str[1:], "shape": list(a.shape), "values": values(a)}


def main():
    expected = {"arrays": {}, "errors": {}, "npz": {}, "npz_errors": {}}

    def save(name, a, version=None, le=True):
        with open(path(name), "wb") as f:
            np.lib.format.write_array(f, a, version=version, allow_pickle=False)
        expected["arrays"][name] = describe(a)
        expected["arrays"][name]["np_save"] = le and version is None

    arrays = {}
    for code, vals in sorted(INTS.items()):
        arrays[code] = np.array(vals, dtype="<" + code)
    for code, vals in sorted(FLOATS.items()):
        arrays[code] = np.array(vals, dtype="<" + code)
    arrays["b1"] = np.array([[True, False, True], [False, False, True]])

    for code, a in sorted(arrays.items()):
        save("le_%s.npy" % code, a)
        if a.dtype.itemsize > 1:
            save("be_%s.npy" % code, a.astype(a.dtype.newbyteorder(">")), le=False)

    # Shapes: scalar, 2-D, 4-D, zero-size dimensions.
    save("scalar_f8.npy", np.array(3.25))
    save("scalar_i4.npy", np.array(-7, dtype="<i4"))
    save("matrix_i2.npy", np.arange(-6, 6, dtype="<i2").reshape(3, 4))
    save("shape4d_f4.npy", (np.arange(12, dtype="<f4") / 8).reshape(2, 1, 3, 2))
    save("zero_f4.npy", np.zeros((0, 3), dtype="<f4"))
    save("zero_u1.npy", np.zeros((3, 0, 2), dtype="u1"))
    save("empty_i8.npy", np.zeros((0,), dtype="<i8"))

    # Header versions 2.0 and 3.0.
    save("v2_f4.npy", np.array([[1, 2], [3, 4]], dtype="<f4"), version=(2, 0))
    save("v3_i4.npy", np.array([5, -6, 7], dtype="<i4"), version=(3, 0))

    # Files the reader must refuse.
    def refuse(name, a, kind, allow_pickle=False):
        with open(path(name), "wb") as f:
            np.lib.format.write_array(f, a, allow_pickle=allow_pickle)
        expected["errors"][name] = kind

    refuse("fortran_f8.npy", np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)), "unsupported")
    refuse("object.npy", np.array([1, "a", None], dtype=object), "unsupported", allow_pickle=True)
    refuse("structured.npy", np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]), "unsupported")
    refuse("complex_c8.npy", np.array([1 + 2j], dtype="<c8"), "unsupported")
    refuse("unicode_U3.npy", np.array(["abc"], dtype="<U3"), "unsupported")
    refuse("datetime_M8.npy", np.array(["2020-01-01"], dtype="<M8[s]"), "unsupported")

    # Archives.
    x = np.arange(6, dtype="<f4").reshape(2, 3) - 2.5
    y = np.array([3, 1, 4, 1, 5], dtype="<i8")
    z = np.array([[0, 255], [128, 7]], dtype="u1")
    np.savez(path("savez.npz"), x=x, y=y, z=z)
    np.savez_compressed(path("savez_compressed.npz"), x=x, y=y, z=z)
    np.savez(path("savez_positional.npz"), x, y)
    members = {"x": describe(x), "y": describe(y), "z": describe(z)}
    expected["npz"]["savez.npz"] = members
    expected["npz"]["savez_compressed.npz"] = members
    expected["npz"]["savez_positional.npz"] = {"arr_0": describe(x), "arr_1": describe(y)}
    np.savez(path("savez_object.npz"), ok=y, bad=np.array([None], dtype=object))
    expected["npz_errors"]["savez_object.npz"] = "unsupported"

    # Half-precision rounding: float32 inputs and the float16 NumPy makes of
    # them, as bit patterns. Ties, subnormals, overflow, random values.
    rng = np.random.default_rng(7)
    edge = [0.0, -0.0, 1.0, 65504.0, 65519.99, 65520.0, 1e6, -1e6, 2.0**-24, 2.0**-25,
            2.0**-25 * 1.0001, 3 * 2.0**-25, 2.0**-26, 2.0**-14, 2.0**-14 * (1 - 2.0**-11),
            1 + 2.0**-11, 1 + 3 * 2.0**-11, 1 + 2.0**-11 + 2.0**-20, 2048 + 1, 2048 + 3,
            1e-8, -1e-8, float("inf"), float("-inf")]
    f32 = np.concatenate([
        np.array(edge, dtype="<f4"),
        rng.standard_normal(100).astype("<f4") * np.float32(1000),
        rng.standard_normal(60).astype("<f4") * np.float32(1e-5),
        rng.integers(0, 2**32, 60, dtype=np.uint64).astype(np.uint32).view("<f4"),
    ])
    f32 = f32[~np.isnan(f32)]
    with np.errstate(over="ignore"):
        f16 = f32.astype("<f2")
    expected["half_rounding"] = [[int(a), int(b)] for a, b in zip(f32.view("<u4"), f16.view("<u2"))]

    with open(path("expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
