"""PyTorch reference of Seedscope's transformer, for speed and parity checks.

The model matches worker/model/transformer.ts: token and learned position
embeddings, pre-LayerNorm blocks of causal multi-head self-attention and a
GELU (tanh approximation) MLP, a final layer norm and an output projection,
with linear maps written y = x W + b and W of shape [d_in, d_out].

Commands:
  time    trains the model on a random order-1 Markov chain with Adam on one
          thread and prints JSON with ms per step and tokens per second.
  parity  reads parameters and a batch from safetensors files, computes the
          mean cross-entropy and its gradients, and writes them to a
          safetensors file (the loss under the name `loss`).
"""

import argparse
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "I32": np.int32, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as handle:
        blob = handle.read()
    (header_length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + header_length])
    header.pop("__metadata__", None)
    start = 8 + header_length
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(blob[start + begin : start + end], dtype=DTYPES[entry["dtype"]])
        tensors[name] = array.reshape(entry["shape"]).copy()
    return tensors


def write_safetensors(path, tensors):
    header = {}
    offset = 0
    chunks = []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    header_bytes = json.dumps(header).encode()
    header_bytes += b" " * ((8 - (8 + len(header_bytes)) % 8) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(header_bytes)))
        handle.write(header_bytes)
        for chunk in chunks:
            handle.write(chunk)


def layer_norm(x, gain, bias):
    return F.layer_norm(x, (x.shape[-1],), gain, bias, eps=1e-5)


def forward(params, config, inputs):
    """Returns logits [batch, seq, vocab] for int64 inputs [batch, seq]."""
    batch, seq = inputs.shape
    d_model, heads = config["dModel"], config["nHeads"]
    d_head = d_model // heads
    x = params["tokenEmbedding"][inputs] + params["positionEmbedding"][:seq]
    mask = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)

    for i in range(config["nLayers"]):
        p = lambda name: params[f"blocks.{i}.{name}"]
        h = layer_norm(x, p("ln1.gain"), p("ln1.bias"))
        # [batch, seq, d_model] -> [batch, heads, seq, d_head]
        split = lambda y: y.view(batch, seq, heads, d_head).transpose(1, 2)
        q = split(h @ p("attn.wq") + p("attn.bq"))
        k = split(h @ p("attn.wk") + p("attn.bk"))
        v = split(h @ p("attn.wv") + p("attn.bv"))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d_head)
        weights = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        mixed = (weights @ v).transpose(1, 2).reshape(batch, seq, d_model)
        x = x + mixed @ p("attn.wo") + p("attn.bo")

        h = layer_norm(x, p("ln2.gain"), p("ln2.bias"))
        hidden = F.gelu(h @ p("mlp.wUp") + p("mlp.bUp"), approximate="tanh")
        x = x + hidden @ p("mlp.wDown") + p("mlp.bDown")

    x = layer_norm(x, params["lnFinal.gain"], params["lnFinal.bias"])
    if config.get("tiedEmbeddings", False):
        return x @ params["tokenEmbedding"].T
    return x @ params["unembedding"]


def loss_of(params, config, inputs, targets):
    logits = forward(params, config, inputs)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)


def parameter_shapes(config, vocab):
    d, m, t = config["dModel"], config["dMlp"], config["contextLength"]
    shapes = [("tokenEmbedding", (vocab, d)), ("positionEmbedding", (t, d))]
    for i in range(config["nLayers"]):
        b = f"blocks.{i}"
        shapes += [(f"{b}.ln1.gain", (d,)), (f"{b}.ln1.bias", (d,))]
        for w, bias in (("wq", "bq"), ("wk", "bk"), ("wv", "bv"), ("wo", "bo")):
            shapes += [(f"{b}.attn.{w}", (d, d)), (f"{b}.attn.{bias}", (d,))]
        shapes += [(f"{b}.ln2.gain", (d,)), (f"{b}.ln2.bias", (d,))]
        shapes += [(f"{b}.mlp.wUp", (d, m)), (f"{b}.mlp.bUp", (m,)), (f"{b}.mlp.wDown", (m, d)), (f"{b}.mlp.bDown", (d,))]
    shapes += [("lnFinal.gain", (d,)), ("lnFinal.bias", (d,))]
    if not config.get("tiedEmbeddings", False):
        shapes.append(("unembedding", (d, vocab)))
    return shapes


def init_params(config, vocab, generator):
    params = {}
    for name, shape in parameter_shapes(config, vocab):
        if name.endswith(".gain"):
            value = torch.ones(shape)
        elif name.split(".")[-1].startswith("b") or name.endswith(".bias"):
            value = torch.zeros(shape)
        else:
            value = torch.randn(shape, generator=generator) * config["initStd"]
        params[name] = value.requires_grad_(True)
    return params


def markov_batches(vocab, batch, seq, generator):
    """Yields (inputs, targets) from a random order-1 chain with Dirichlet(0.5) rows."""
    rows = torch.distributions.Dirichlet(torch.full((vocab,), 0.5)).sample((vocab,))
    while True:
        tokens = torch.empty(batch, seq + 1, dtype=torch.long)
        tokens[:, 0] = torch.randint(vocab, (batch,), generator=generator)
        for t in range(1, seq + 1):
            tokens[:, t] = torch.multinomial(rows[tokens[:, t - 1]], 1, generator=generator).squeeze(1)
        yield tokens[:, :-1], tokens[:, 1:]


def command_time(args):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    config = {"dModel": args.d_model, "nHeads": args.heads, "nLayers": args.layers, "dMlp": args.d_mlp, "contextLength": args.seq, "initStd": 0.02}
    params = init_params(config, args.vocab, generator)
    optimizer = torch.optim.Adam(params.values(), lr=3e-3)
    batches = markov_batches(args.vocab, args.batch, args.seq, generator)
    # Batches are drawn before timing so only the training step is measured.
    data = [next(batches) for _ in range(args.warmup + args.steps)]

    def step(inputs, targets):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of(params, config, inputs, targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    for inputs, targets in data[: args.warmup]:
        step(inputs, targets)
    began = time.perf_counter()
    loss = float("nan")
    for inputs, targets in data[args.warmup :]:
        loss = step(inputs, targets)
    seconds = time.perf_counter() - began
    ms_per_step = 1000 * seconds / args.steps
    print(json.dumps({
        "backend": f"pytorch {torch.__version__} (1 thread)",
        "steps": args.steps,
        "msPerStep": ms_per_step,
        "tokensPerSecond": args.batch * args.seq * args.steps / seconds,
        "finalLoss": loss,
    }))


def command_parity(args):
    config = json.loads(args.config)
    params = {name: torch.tensor(value, requires_grad=True) for name, value in read_safetensors(args.weights).items()}
    batch = read_safetensors(args.batch)
    inputs = torch.tensor(batch["inputs"], dtype=torch.long)
    targets = torch.tensor(batch["targets"], dtype=torch.long)
    loss = loss_of(params, config, inputs, targets)
    loss.backward()
    outputs = {"loss": np.array([loss.item()], dtype=np.float32)}
    outputs.update({name: value.grad.numpy() for name, value in params.items()})
    write_safetensors(args.out, outputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    timing = commands.add_parser("time", help="time training steps on one thread")
    timing.add_argument("--steps", type=int, default=50)
    timing.add_argument("--warmup", type=int, default=5)
    timing.add_argument("--vocab", type=int, default=64)
    timing.add_argument("--seq", type=int, default=32)
    timing.add_argument("--d-model", type=int, default=64)
    timing.add_argument("--heads", type=int, default=4)
    timing.add_argument("--layers", type=int, default=2)
    timing.add_argument("--d-mlp", type=int, default=256)
    timing.add_argument("--batch", type=int, default=32)

    parity = commands.add_parser("parity", help="write loss and gradients for given weights and batch")
    parity.add_argument("--config", required=True, help="model config as JSON")
    parity.add_argument("--weights", required=True)
    parity.add_argument("--batch", required=True, help="safetensors with I32 inputs and targets [batch, seq]")
    parity.add_argument("--out", required=True)

    args = parser.parse_args()
    if args.command == "time":
        command_time(args)
    else:
        command_parity(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
