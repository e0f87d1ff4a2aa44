"""Built-in models for the digits data, and user models given as ``package.module:factory``."""
from __future__ import annotations

import importlib
import inspect
import re
from typing import Callable

import torch
from torch import nn

from .validation import InputError


def _mlp(sizes: list[int], act: Callable[[], nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1])


def _cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # 8 x 4 x 4
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # 16 x 2 x 2
        nn.Flatten(), nn.Linear(64, 10),
    )


MODELS: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "digits-linear": (lambda: nn.Linear(64, 10), "softmax regression: a convex loss in its parameters"),
    "digits-mlp": (lambda: _mlp([64, 128, 128, 10], nn.ReLU), "MLP 64-128-128-10 with ReLU"),
    "digits-small-mlp": (lambda: _mlp([64, 16, 10], nn.Tanh), "MLP 64-16-10 with tanh (dense Hessian is cheap)"),
    "digits-deep-sigmoid": (lambda: _mlp([64] + [32] * 8 + [10], nn.Sigmoid),
                            "8 hidden sigmoid layers of 32: gradients vanish in the early layers"),
    "digits-cnn": (_cnn, "small CNN: two 3x3 conv layers (8, 16 channels) and a linear head"),
}


def make_model(name: str, seed: int = 0) -> nn.Module:
    """A built-in model (seeded initialisation, global RNG untouched) or ``package.module:factory``."""
    if name in MODELS:
        factory = MODELS[name][0]
    elif ":" in name:
        factory = load_factory(name)
        needs = required_arguments(factory)
        if needs:
            raise InputError(f"model factory {name!r} needs arguments {needs}; --model takes a factory callable "
                             "with none (wrap it: def factory(): return Net(...))")
    else:
        raise InputError(f"unknown model {name!r}; built-in: {', '.join(MODELS)}, or package.module:factory")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = call_user(factory, f"model factory {name!r}")
    if not isinstance(model, nn.Module):
        raise InputError(f"model factory {name!r} returned {type(model).__name__}, not a torch.nn.Module")
    return model


_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def load_factory(spec: str) -> Callable[[], nn.Module]:
    """Import ``package.module:factory`` (the user's own code, named explicitly) and return the factory."""
    return import_spec(spec, "model spec", "package.module:factory")


def import_spec(spec: str, flag: str, form: str) -> Callable:
    """Import ``package.module:name`` (the user's own code, named explicitly) and return the callable ``name``;
    messages name ``flag`` and the expected ``form``."""
    if not _SPEC.match(spec):
        raise InputError(f"{flag} {spec!r} must look like {form}")
    module_name, attr = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - any import failure is bad input here
        raise InputError(f"cannot import {module_name!r} for {flag} {spec!r}: {type(err).__name__}: {err}") \
            from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise InputError(f"{module_name!r} has no callable {attr!r} for {flag} {spec!r}")
    return factory


def call_user(fn: Callable, what: str):
    """``fn()``, the user's own code (a model or data factory); an exception it raises is an :class:`InputError`
    naming ``what`` and the error's first line (the user's code failed, not losslens)."""
    try:
        return fn()
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever the user's code raises is bad input here
        first = (str(err).strip().splitlines() or [""])[0]
        raise InputError(f"{what} failed: {type(err).__name__}: {first[:200]}") from None


def required_arguments(fn) -> list[str]:
    """Names of the parameters ``fn`` cannot be called without (empty for a zero-argument callable)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


class BasicBlock(nn.Module):
    """He et al.'s residual block: ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))`` with 3x3 bias-free
    convolutions; the shortcut is a strided 1x1 convolution and BatchNorm when the shape changes, else the identity."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """A small BasicBlock ResNet for images [N, C, H, W]: 3x3 stem (bias-free) + BatchNorm + ReLU, one block per
    width (stride 2 from the second on), global average pooling, a Linear classifier. ``ResNet(3, (8, 16), 10)`` has
    5266 parameters (the CIFAR-shaped benchmark model)."""

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (8, 16), classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.blocks = nn.Sequential(*[BasicBlock(a, b, 1 if i == 0 else 2)
                                      for i, (a, b) in enumerate(zip(widths[:1] + widths[:-1], widths))])
        self.fc = nn.Linear(widths[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(torch.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
