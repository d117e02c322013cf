"""The two books' update rules as plain numpy, transcribed here from their published equations
(issue 13; not from the books' code): the references tests/test_training.py compares the
training engine with, and benchmarks/train.py times it against."""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def rashid_epoch(Wih, Who, X, T, order, rate):
    """Rashid's update, one sample at a time: h = σ(Wih·x), o = σ(Who·h), e_o = t − o, e_h = Whoᵀ·e_o,
    Who += lr·(e_o∘o∘(1−o))·hᵀ, Wih += lr·(e_h∘h∘(1−h))·xᵀ."""
    Wih, Who = Wih.copy(), Who.copy()
    for i in order:
        x = X[i][:, None]
        t = T[i][:, None]
        h = sigmoid(Wih @ x)
        o = sigmoid(Who @ h)
        e_o = t - o
        e_h = Who.T @ e_o
        Who += rate * (e_o * o * (1 - o)) @ h.T
        Wih += rate * (e_h * h * (1 - h)) @ x.T
    return Wih, Who


def saito_epoch(W1, b1, W2, b2, X, T, order, batch, rate):
    """Saito's two-layer net, row vectors: a1 = x·W1 + b1, z1 = σ(a1), y = softmax(z1·W2 + b2);
    dy = (y − t)/batch, ∇W2 = z1ᵀ·dy, ∇b2 = Σ dy, ∇W1 = xᵀ·((dy·W2ᵀ)∘z1∘(1−z1)), ∇b1 its column sums."""
    W1, b1, W2, b2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
    for begin in range(0, len(order), batch):
        chosen = order[begin : begin + batch]
        x, t = X[chosen], T[chosen]
        z1 = sigmoid(x @ W1 + b1)
        a2 = z1 @ W2 + b2
        e = np.exp(a2 - a2.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
        dy = (y - t) / len(chosen)
        grad_W2 = z1.T @ dy
        grad_b2 = dy.sum(axis=0)
        da1 = (dy @ W2.T) * z1 * (1 - z1)
        grad_W1 = x.T @ da1
        grad_b1 = da1.sum(axis=0)
        W1 -= rate * grad_W1
        b1 -= rate * grad_b1
        W2 -= rate * grad_W2
        b2 -= rate * grad_b2
    return W1, b1, W2, b2


# Saito's two-layer net as a .net file whose weights come from w.npz (netlang's layers are
# W·x + b: the transposes of his x·W matrices).
SAITO_NET = """input x[{n_in}]
let W1 = load("w.npz", "W1")
let b1 = load("w.npz", "b1")
let W2 = load("w.npz", "W2")
let b2 = load("w.npz", "b2")
layer z1[{n_hidden}] = sigmoid(W1 @ x + b1)
layer y[{n_out}] = softmax(W2 @ z1 + b2)
output y
"""
