"""Training speed: netlang.training.fit against numpy transcriptions of the books' updates, and PyTorch.

- Rashid's preset: 784-100-10 sigmoid, no biases, rule "rashid", learning rate 0.3, batch 1, one
  epoch over 60,000 synthetic rows of MNIST's shape, in file order. Baseline: his published
  update, transcribed here from its equations, sample by sample (column vectors):
  h = σ(Wih·x), o = σ(Who·h), e_o = t − o, e_h = Whoᵀ·e_o, Who += lr·(e_o∘o∘(1−o))·hᵀ,
  Wih += lr·(e_h∘h∘(1−h))·xᵀ. Both must compute the same weights after the whole epoch, and
  do, bit for bit (checked; at most 1e-12 is required). On random labels the updates are
  chaotic: a rounding difference of 1e-17 in one update (the rate applied to another product,
  a sum added up in another order) grows to 0.3 over the 60,000, so only the same operations
  in the same order give the same weights; netlang's engine does the transcription's.
- Saito's preset: 784-50-10, sigmoid hidden, softmax output, mean cross-entropy, SGD at 0.1,
  1,000 iterations of batch 100 (10 epochs over 10,000 rows, one permutation per epoch, the
  same for all; the weights after all 1,000 checked to 1e-12, and said whether bit for bit: they
  are with one BLAS thread, and differ by about 1e-17 when a multithreaded BLAS splits a large
  product as it will). Baselines: his two-layer update transcribed from its equations (row vectors,
  x·W + b; dy = (y − t)/batch, ∇W2 = z1ᵀ·dy, ∇b2 = Σ dy, ∇W1 = xᵀ·((dy·W2ᵀ)∘z1∘(1−z1)),
  ∇b1 its column sums), and PyTorch (CPU; autograd, F.cross_entropy, torch.optim.SGD) when
  installed (`pip install torch==2.13.0`).
- digits (needs scikit-learn, the `digits` extra): examples/digits/digits.net trained as its
  `train` statement says, the time to >= 97% test accuracy (target: under 10 s).

netlang's time includes what fit does besides the updates: checking the data, and by default
after each epoch the loss and accuracy over the training data (one forward pass over it, which
the transcription does not do); Saito's net is also timed with ``evaluate=False``, which leaves
that pass out (each epoch then reports the loss and accuracy of its batches, from the forward
passes of the updates), and the transcription is also timed with the evaluation Saito's own
loop does after each epoch (the accuracy over the whole training set), the baseline for fit's default.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional, Tuple

import numpy as np

from _common import GcPaused, arguments, interleaved, machine_note, report

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from book_updates import rashid_epoch, saito_epoch, sigmoid  # noqa: E402  (the books' updates, shared with the tests)

import netlang
from netlang import training

ROOT = Path(__file__).resolve().parent.parent


# --- Rashid --------------------------------------------------------------------------------------


def rashid_numpy(Wih: np.ndarray, Who: np.ndarray, X: np.ndarray, T: np.ndarray, rate: float) -> Tuple[np.ndarray, np.ndarray]:
    return rashid_epoch(Wih, Who, X, T, range(len(X)), rate)


def mnist_shaped(rng: np.random.Generator, rows: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic rows of MNIST's shape: pixels 0..255 scaled as Rashid does, labels, his targets."""
    X = rng.integers(0, 256, (rows, 784)) / 255 * 0.99 + 0.01
    labels = rng.integers(0, 10, rows)
    T = np.full((rows, 10), 0.01)
    T[np.arange(rows), labels] = 0.99
    return X, labels, T


def network(folder: Path, text: str, arrays: dict) -> Any:
    np.savez(folder / "w.npz", **arrays)
    (folder / "net.net").write_text(text, encoding="utf-8")
    return netlang.load(folder / "net.net")


RASHID = """input x[784]
let Wih = load("w.npz", "Wih")
let Who = load("w.npz", "Who")
layer hidden[100] = sigmoid(Wih @ x)
layer out[10] = sigmoid(Who @ hidden)
output out
"""


def bench_rashid(folder: Path, rows: int, repeats: int) -> None:
    rng = np.random.default_rng(1)
    Wih = rng.normal(0, 784**-0.5, (100, 784))
    Who = rng.normal(0, 100**-0.5, (10, 100))
    X, _, T = mnist_shaped(rng, rows)
    net = network(folder, RASHID, {"Wih": Wih, "Who": Who})
    binding = training.binding_all(net, biases=False)
    settings = training.Settings(rule="rashid", learning_rate=0.3, epochs=1, batch_size=1, shuffle=False)
    result = training.fit(net, binding, X, T, settings)
    expected = rashid_numpy(Wih, Who, X, T, 0.3)
    got = [result.network.layers[i].weights for i in (0, 1)]
    agreement = float(max(np.max(np.abs(got[i] - expected[i])) for i in (0, 1)))
    assert agreement <= 1e-12, agreement
    same = all(np.array_equal(got[i], expected[i]) for i in (0, 1))
    print(f"\nRashid: the weights after all {rows} updates {'are bit for bit the same' if same else 'differ'} (largest difference {agreement:.1e})")
    with GcPaused():
        numpy_time, netlang_time = interleaved(
            [lambda: rashid_numpy(Wih, Who, X, T, 0.3), lambda: training.fit(net, binding, X, T, settings)], repeats
        )
    report(f"Rashid's preset: 784-100-10, batch 1, one epoch of {rows} rows", [("numpy transcription", numpy_time), ("netlang fit", netlang_time)], numpy_time, "<= 1.0x")


# --- Saito ---------------------------------------------------------------------------------------


# His network in his convention, as examples/books/saito.net writes it: x·W + b, W1 784x50.
SAITO = """input x[784]
let W1 = load("w.npz", "W1")
let b1 = load("w.npz", "b1")
let W2 = load("w.npz", "W2")
let b2 = load("w.npz", "b2")
layer z1[50] = sigmoid(x @ W1 + b1)
layer y[10] = softmax(z1 @ W2 + b2)
output y
"""


def saito_numpy(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, X: np.ndarray, T: np.ndarray, orders: list, batch: int, rate: float) -> Tuple[np.ndarray, ...]:
    weights = (W1, b1, W2, b2)
    for order in orders:
        weights = saito_epoch(*weights, X, T, order, batch, rate)
    return weights


def saito_numpy_evaluating(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, X: np.ndarray, T: np.ndarray, orders: list, batch: int, rate: float) -> Tuple[np.ndarray, ...]:
    """The transcription with what Saito's loop does after each epoch: the accuracy of the
    network over the whole training set (the forward pass, then the argmax of each row)."""
    weights = (W1, b1, W2, b2)
    labels = np.argmax(T, axis=1)
    for order in orders:
        weights = saito_epoch(*weights, X, T, order, batch, rate)
        w1, c1, w2, c2 = weights
        outputs = sigmoid(X @ w1 + c1) @ w2 + c2  # the softmax keeps the argmax
        float(np.mean(np.argmax(outputs, axis=1) == labels))
    return weights


def saito_torch(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, X: np.ndarray, labels: np.ndarray, orders: list, batch: int, rate: float) -> Optional[Callable[[], Any]]:
    try:
        import torch
    except ImportError:
        return None
    X_t = torch.from_numpy(X)
    labels_t = torch.from_numpy(labels)
    orders_t = [torch.from_numpy(order) for order in orders]

    def run() -> Any:
        params = [torch.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]
        w1, c1, w2, c2 = params
        optimizer = torch.optim.SGD(params, lr=rate)
        for order in orders_t:
            for begin in range(0, len(order), batch):
                chosen = order[begin : begin + batch]
                x = X_t[chosen]
                logits = torch.sigmoid(x @ w1 + c1) @ w2 + c2
                loss = torch.nn.functional.cross_entropy(logits, labels_t[chosen])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return [p.detach().numpy() for p in params]

    return run


def bench_saito(folder: Path, rows: int, epochs: int, repeats: int, steps: int = 0) -> None:
    rng = np.random.default_rng(2)
    W1 = 0.01 * rng.standard_normal((784, 50))
    W2 = 0.01 * rng.standard_normal((50, 10))
    b1, b2 = np.zeros(50), np.zeros(10)
    X, labels, _ = mnist_shaped(rng, rows)
    X = (X - 0.01) / 0.99  # Saito's x/255
    T = np.eye(10)[labels]
    net = network(folder, SAITO, {"W1": W1, "b1": b1, "W2": W2, "b2": b2})
    binding = training.binding_all(net)
    settings = training.Settings(loss="cross-entropy", learning_rate=0.1, epochs=epochs, batch_size=100, seed=4)
    order_rng = np.random.default_rng(4)
    orders = [order_rng.permutation(rows) for _ in range(epochs)]
    result = training.fit(net, binding, X, T, settings)
    expected = saito_numpy(W1, b1, W2, b2, X, T, orders, 100, 0.1)
    layers = result.network.layers  # outputs x inputs: the transposes of his matrices
    pairs = [(layers[0].weights, expected[0].T), (layers[0].bias, expected[1]), (layers[1].weights, expected[2].T), (layers[1].bias, expected[3])]
    difference = max(float(np.max(np.abs(got - want))) for got, want in pairs)
    assert difference <= 1e-12, difference
    same = all(np.array_equal(got, want) for got, want in pairs)
    iterations = epochs * rows // 100
    print(f"\nSaito: the weights after all {iterations} iterations {'are bit for bit the same' if same else 'differ'} (largest difference {difference:.1e})")
    quiet = training.Settings(loss="cross-entropy", learning_rate=0.1, epochs=epochs, batch_size=100, seed=4, evaluate=False)
    runs = [
        lambda: saito_numpy(W1, b1, W2, b2, X, T, orders, 100, 0.1),
        lambda: training.fit(net, binding, X, T, quiet),
        lambda: training.fit(net, binding, X, T, settings),
        lambda: saito_numpy_evaluating(W1, b1, W2, b2, X, T, orders, 100, 0.1),
    ]
    names = ["numpy transcription", "netlang fit, evaluate=False", "netlang fit (evaluating each epoch)", "numpy, evaluating each epoch as Saito"]
    torch_run = saito_torch(W1, b1, W2, b2, X, labels, orders, 100, 0.1)
    if torch_run is not None:
        import torch

        got = torch_run()
        expected = saito_numpy(W1, b1, W2, b2, X, T, orders, 100, 0.1)
        torch_difference = max(np.max(np.abs(g - e)) for g, e in zip(got, expected))
        print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads): largest difference from numpy {torch_difference:.1e}")
        runs.append(torch_run)
        names.append("PyTorch CPU")
    with GcPaused():
        times = interleaved(runs, repeats)
    rows_out = list(zip(names, times))
    report(f"Saito's preset: 784-50-10, {iterations} iterations of batch 100", rows_out[:3], times[0], "<= 1.0x numpy")
    report("fit's default against the transcription with Saito's evaluation", [rows_out[3], rows_out[2]], times[3])
    # The evaluation after each epoch, on its own: what it adds to each side's run, per epoch.
    netlang_evaluation = (times[2] - times[1]) / epochs
    numpy_evaluation = (times[3] - times[0]) / epochs
    print(
        f"\nthe evaluation after each epoch ({rows} rows), per epoch: netlang {netlang_evaluation * 1e3:.1f} ms, "
        f"the transcription evaluating as Saito {numpy_evaluation * 1e3:.1f} ms "
        f"({netlang_evaluation / numpy_evaluation:.2f}x; each the difference of two medians above)"
    )
    if torch_run is not None:
        report("the same against PyTorch", rows_out[1:3] + rows_out[4:], times[4], "<= 1.0x PyTorch")
    if steps:
        saito_steps(W1, b1, W2, b2, X, T, net, steps)


def saito_steps(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, X: np.ndarray, T: np.ndarray, net: Any, steps: int) -> None:
    """One step of each, operation by operation: the transcription's lines and the engine's bound
    numpy calls (its private program, as fit runs it), timed in turn over ``steps`` batches;
    medians in microseconds. Where a step's time goes, and where the two differ."""
    import statistics
    from collections import defaultdict

    engine = training._Engine(net, training.binding_all(net), training.parameters(net, training.binding_all(net)), "cross-entropy", transposed=True)
    program = engine.program(100, 0.1, in_place=True)  # as fit builds it for plain gradient descent
    sgd = training._optimizer(training.Settings(loss="cross-entropy"), engine.theta, engine.grad, program.updated)
    weights = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
    clock = time.perf_counter
    theirs: Any = defaultdict(list)
    ours: Any = defaultdict(list)

    def transcription(chosen: np.ndarray) -> None:  # saito_epoch's body, a line at a time
        w1, c1, w2, c2 = weights
        lines = [
            ("load the batch (x, t)", lambda: (X[chosen], T[chosen])),
            ("x·W1", lambda: x @ w1),
            ("+ b1, sigmoid", lambda: sigmoid(a1 + c1)),
            ("z1·W2 + b2", lambda: z1 @ w2 + c2),
            ("softmax", lambda: (lambda e: e / e.sum(axis=1, keepdims=True))(np.exp(a2 - a2.max(axis=1, keepdims=True)))),
            ("dy = (y − t)/batch", lambda: (y - t) / len(chosen)),
            ("∇W2, ∇b2", lambda: (z1.T @ dy, dy.sum(axis=0))),
            ("δ1 = (dy·W2ᵀ)∘z1∘(1−z1)", lambda: (dy @ w2.T) * z1 * (1 - z1)),
            ("∇W1 = xᵀ·δ1", lambda: x.T @ da1),
            ("∇b1", lambda: da1.sum(axis=0)),
            ("W ← W − lr·∇W", lambda: [np.subtract(w, 0.1 * g, out=w) for w, g in zip(weights, (gW1, gb1, gW2, gb2))]),
        ]
        values: dict = {}
        for name, line in lines:
            start = clock()
            value = line()
            theirs[name].append(clock() - start)
            values[name] = value
            if name == "load the batch (x, t)":
                x, t = value
            elif name == "x·W1":
                a1 = value
            elif name == "+ b1, sigmoid":
                z1 = value
            elif name == "z1·W2 + b2":
                a2 = value
            elif name == "softmax":
                y = value
            elif name == "dy = (y − t)/batch":
                dy = value
            elif name == "∇W2, ∇b2":
                gW2, gb2 = value
            elif name.startswith("δ1"):
                da1 = value
            elif name == "∇W1 = xᵀ·δ1":
                gW1 = value
            elif name == "∇b1":
                gb1 = value

    def engine_step(chosen: np.ndarray) -> None:
        start = clock()
        program.load(X, T, chosen)
        ours["load the batch"].append(clock() - start)
        for k, op in enumerate(program.forward_ops):
            start = clock()
            op()
            ours[f"forward {k}: {_op_name(op)}"].append(clock() - start)
        start = clock()
        backward_ops, program.backward_ops = program.backward_ops, []
        program.backward()  # the error (y − t)/batch and the finiteness check alone
        program.backward_ops = backward_ops
        ours["error (y − t)/batch, its check"].append(clock() - start)
        for k, op in enumerate(backward_ops):
            start = clock()
            op()
            ours[f"backward {k}: {_op_name(op)}"].append(clock() - start)
        start = clock()
        sgd()
        ours["θ ← θ − ∇ (scaled)"].append(clock() - start)

    order = np.random.default_rng(5).permutation(len(X))
    with GcPaused(), np.errstate(over="ignore", under="ignore"):
        for i in range(steps):
            chosen = order[(i * 100) % (len(X) - 99) :][:100]
            first, second = (transcription, engine_step) if i % 2 else (engine_step, transcription)
            first(chosen)
            second(chosen)
    for title, times in (("the transcription, line by line", theirs), ("netlang's step, call by call", ours)):
        medians = {name: statistics.median(values) * 1e6 for name, values in times.items()}
        print(f"\n{title} (median us of {steps} steps; {len(medians)} parts, sum {sum(medians.values()):.0f} us)")
        for name, value in medians.items():
            print(f"  {name:<40} {value:8.1f}")


def _op_name(op: Any) -> str:
    function = getattr(op, "func", op)
    return getattr(function, "__name__", type(function).__name__)


# --- digits --------------------------------------------------------------------------------------


# digits.net's train statement, as the engine's settings.
DIGITS = training.Settings(rule="rashid", loss="mse", learning_rate=0.3, epochs=20, batch_size=1, seed=1)


def bench_digits(folder: Path) -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("\ndigits: scikit-learn is not installed (pip install '.[digits]'); skipped")
        return
    import shutil
    import sys

    sys.path.insert(0, str(ROOT / "examples" / "digits"))
    import make_data

    from netlang.labelled import read_examples, score_file

    make_data.write(folder)
    shutil.copy(ROOT / "examples" / "digits" / "digits.net", folder / "digits.net")
    net = netlang.load(folder / "digits.net")
    settings = DIGITS
    start = time.perf_counter()
    X, T = read_examples(folder / "train.csv", net, labels="label", one_hot=(0.01, 0.99))
    result = training.fit(net, training.binding_all(net), X, T, settings)
    seconds = time.perf_counter() - start
    accuracy = score_file(result.network, folder / "test.csv", "label").accuracy
    print(f"\ndigits: {settings.epochs} epochs of {len(X)} samples in {seconds:.2f} s (data read included); test accuracy {accuracy:.4f}")
    print("  target: >= 0.97 in under 10 s")


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        lambda parser: (
            parser.add_argument("--only", choices=["rashid", "saito", "digits"], help="run one of the three parts"),
            parser.add_argument("--steps", type=int, default=0, metavar="N", help="Saito's step operation by operation, over N steps of each"),
        ),
    )
    machine_note()
    try:
        import platform

        name = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
        print(f"CPU: {name}")
    except OSError:
        pass
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        if args.only in (None, "rashid"):
            bench_rashid(folder, 6000 if args.quick else 60000, 1 if args.quick else 3)
        if args.only in (None, "saito"):
            bench_saito(folder, 2000 if args.quick else 10000, 10, 1 if args.quick else 5, args.steps)
        if args.only in (None, "digits"):
            bench_digits(folder)


if __name__ == "__main__":
    main()
