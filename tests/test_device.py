"""netlang run --device: the network computed on a device by PyTorch (or CuPy), numpy in and out."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import netlang
from netlang.arrays import DeviceError, OnDevice, on_device
from test_runtime_layouts import MIXED

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")


@pytest.fixture
def mixed(tmp_path):
    path = tmp_path / "mixed.net"
    path.write_text(MIXED)
    return path


def test_run_on_the_cpu_device_prints_what_numpy_prints(cli, mixed, tmp_path):
    net = netlang.load(mixed)
    X = np.random.default_rng(0).normal(size=(40, net.input_width))
    data = tmp_path / "data.csv"
    data.write_text("\n".join(",".join(repr(v) for v in row) for row in X.tolist()) + "\n")
    plain = cli("run", str(mixed), "--input", str(data))
    on_cpu = cli("run", str(mixed), "--input", str(data), "--device", "cpu")
    assert plain.exit_code == on_cpu.exit_code == 0
    # Same float64 numbers; the last digit of a sum may differ between BLAS and PyTorch.
    ours = np.loadtxt(on_cpu.output.splitlines()[1:], delimiter=",")
    assert np.allclose(ours, np.loadtxt(plain.output.splitlines()[1:], delimiter=","), rtol=1e-12, atol=1e-12)
    assert np.allclose(ours, net(X), rtol=1e-12, atol=1e-12)
    values = [repr(v) for v in X[0].tolist()]
    single = cli("run", str(mixed), "--device", "cpu", "--json", "--x", *values)
    assert single.exit_code == 0 and single.output.startswith("{")


def test_on_device_computes_with_torch_and_returns_numpy():
    net = netlang.compile(MIXED)
    device_net = on_device(net, "cpu")
    assert isinstance(device_net, OnDevice) and device_net.library == "torch"
    X = np.random.default_rng(1).normal(size=(7, net.input_width))
    out = device_net(X, dtype="float32")
    assert type(out) is np.ndarray and out.dtype == np.float32
    assert np.allclose(out, net(X), atol=1e-5)
    assert device_net.output_columns == net.output_columns  # everything else is the network's
    assert any(isinstance(key, tuple) and key[1].endswith("torch") for key in net._plans)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_a_device_this_machine_lacks_is_a_usage_error(cli, mixed, device):
    result = cli("run", str(mixed), "--device", device, "--x", *["1"] * 5)
    assert result.exit_code == 2
    assert "Invalid value for '--device'" in result.output and "no CUDA device" in result.output
    assert "Traceback" not in result.output


def test_a_device_that_does_not_exist_anywhere(cli, mixed):
    result = cli("run", str(mixed), "--device", "gpu", "--x", *["1"] * 5)
    assert result.exit_code == 2 and "'gpu' is not a device name" in result.output


def test_without_torch_or_cupy_the_message_says_what_to_install(cli, mixed, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(DeviceError, match="pip install torch==2.13.0"):
        on_device(netlang.compile(MIXED), "cuda")
    result = cli("run", str(mixed), "--device", "cuda", "--x", *["1"] * 5)
    assert result.exit_code == 2 and "needs PyTorch or CuPy" in result.output


def test_device_is_refused_with_explain_and_exact(cli, mixed):
    for flag in ("--explain", "--exact"):
        result = cli("run", str(mixed), "--device", "cpu", flag, "--x", *["1"] * 5)
        assert result.exit_code == 2 and "--device" in result.output
