"""NumPy/SciPy reference for bench/analysis.ts.

Reads the probe log-probabilities and weights that the TypeScript benchmark
wrote, computes the same function-space metrics for every pair of runs and the
same weight-space metrics with weight-matching alignment (SciPy's
linear_sum_assignment), and prints one JSON object with timings and checksums.

Usage: /usr/bin/python3 bench/reference_analysis.py CONFIG.json
"""

import json
import sys
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp


def function_space(logits, vocab):
    """Compute every pair metric, averaged over positions, for logits [runs, positions, vocab]."""
    log_probs = logits.astype(np.float64)
    log_probs -= logsumexp(log_probs, axis=2, keepdims=True)
    probs = np.exp(log_probs)
    sqrt_probs = np.sqrt(probs)
    top1 = np.argmax(log_probs, axis=2)
    runs = log_probs.shape[0]

    results = {}
    for i in range(runs):
        for j in range(i + 1, runs):
            p, q = probs[i], probs[j]
            lp, lq = log_probs[i], log_probs[j]
            kl_ab = np.sum(np.where(p > 0, p * (lp - lq), 0.0), axis=1)
            kl_ba = np.sum(np.where(q > 0, q * (lq - lp), 0.0), axis=1)
            log_m = np.log(0.5 * (p + q))
            js = 0.5 * np.sum(np.where(p > 0, p * (lp - log_m), 0.0) + np.where(q > 0, q * (lq - log_m), 0.0), axis=1)
            chord = np.sqrt(np.sum((sqrt_probs[i] - sqrt_probs[j]) ** 2, axis=1))
            results[(i, j)] = {
                "klAB": kl_ab.mean(),
                "klBA": kl_ba.mean(),
                "symmetricKl": (kl_ab + kl_ba).mean(),
                "jensenShannon": np.clip(js, 0, np.log(2)).mean(),
                "fisherRao": np.minimum(np.pi, 4 * np.arcsin(np.minimum(1, chord / 2))).mean(),
                "hellinger": np.minimum(1, np.sqrt(0.5) * chord).mean(),
                "totalVariation": (0.5 * np.abs(p - q).sum(axis=1)).mean(),
                "top1Disagreement": (top1[i] != top1[j]).mean(),
            }

    mean_probs = probs.mean(axis=0)
    log_mean = np.log(mean_probs)
    ensemble = [np.sum(probs[r] * (log_probs[r] - log_mean), axis=1).mean() for r in range(runs)]
    return results, ensemble


def axis_groups(name):
    if name in ("tokenEmbedding", "positionEmbedding"):
        return (None, "residual")
    if name == "unembedding" or name.startswith("lnFinal."):
        return ("residual", None)
    _, block, part = name.split(".", 2)
    table = {
        "ln1.gain": ("residual", None), "ln1.bias": ("residual", None),
        "ln2.gain": ("residual", None), "ln2.bias": ("residual", None),
        "attn.bo": ("residual", None), "mlp.bDown": ("residual", None),
        "attn.wq": ("residual", f"qk.{block}"), "attn.wk": ("residual", f"qk.{block}"),
        "attn.bq": (f"qk.{block}", None), "attn.bk": (f"qk.{block}", None),
        "attn.wv": ("residual", f"vo.{block}"), "attn.bv": (f"vo.{block}", None),
        "attn.wo": (f"vo.{block}", "residual"),
        "mlp.wUp": ("residual", f"mlp.{block}"), "mlp.bUp": (f"mlp.{block}", None),
        "mlp.wDown": (f"mlp.{block}", "residual"),
    }
    return table[part]


def group_permutations(perm, d_head):
    groups = {"residual": perm["residual"]}
    for index, block in enumerate(perm["blocks"]):
        groups[f"mlp.{index}"] = block["mlp"]
        for key, within in (("qk", "queryKey"), ("vo", "valueOutput")):
            groups[f"{key}.{index}"] = np.concatenate([head * d_head + np.asarray(block[within][new]) for new, head in enumerate(block["heads"])])
    return groups


def permute(tensor, rows, columns):
    result = tensor
    if rows is not None:
        result = result[rows]
    if columns is not None:
        result = result[:, columns]
    return result


def apply_permutation(params, perm, d_head):
    groups = group_permutations(perm, d_head)
    out = {}
    for name, tensor in params.items():
        row_group, column_group = axis_groups(name)
        out[name] = permute(tensor, groups.get(row_group), groups.get(column_group))
    return out


def group_similarity(a, b, perm, d_head, group, size):
    groups = group_permutations(perm, d_head)
    scores = np.zeros((size, size))
    for name, tensor_a in a.items():
        row_group, column_group = axis_groups(name)
        if group not in (row_group, column_group):
            continue
        if row_group == group:
            tensor_b = permute(b[name], None, groups.get(column_group))
            a_rows = tensor_a.reshape(size, -1)
            b_rows = tensor_b.reshape(size, -1)
        else:
            tensor_b = permute(b[name], groups.get(row_group), None)
            a_rows = tensor_a.T
            b_rows = tensor_b.T
        scores += a_rows @ b_rows.T
    return scores


def similarity(a, b):
    return sum(float(np.sum(a[name] * b[name])) for name in a)


def align(a, b, layout):
    d, n_heads, n_layers, d_mlp = layout["dModel"], layout["nHeads"], layout["nLayers"], layout["dMlp"]
    d_head = d // n_heads
    perm = {
        "residual": np.arange(d),
        "blocks": [{"mlp": np.arange(d_mlp), "heads": np.arange(n_heads),
                    "queryKey": [np.arange(d_head)] * n_heads, "valueOutput": [np.arange(d_head)] * n_heads}
                   for _ in range(n_layers)],
    }
    history = [similarity(a, b)]
    for _ in range(30):
        perm["residual"] = linear_sum_assignment(group_similarity(a, b, perm, d_head, "residual", d), maximize=True)[1]
        for block in range(n_layers):
            perm["blocks"][block]["mlp"] = linear_sum_assignment(group_similarity(a, b, perm, d_head, f"mlp.{block}", d_mlp), maximize=True)[1]
            qk = group_similarity(a, b, perm, d_head, f"qk.{block}", d)
            vo = group_similarity(a, b, perm, d_head, f"vo.{block}", d)
            head_scores = np.zeros((n_heads, n_heads))
            choices = {}
            for h in range(n_heads):
                for g in range(n_heads):
                    block_qk = qk[h * d_head:(h + 1) * d_head, g * d_head:(g + 1) * d_head]
                    block_vo = vo[h * d_head:(h + 1) * d_head, g * d_head:(g + 1) * d_head]
                    qk_columns = linear_sum_assignment(block_qk, maximize=True)[1]
                    vo_columns = linear_sum_assignment(block_vo, maximize=True)[1]
                    head_scores[h, g] = block_qk[np.arange(d_head), qk_columns].sum() + block_vo[np.arange(d_head), vo_columns].sum()
                    choices[(h, g)] = (qk_columns, vo_columns)
            heads = linear_sum_assignment(head_scores, maximize=True)[1]
            perm["blocks"][block]["heads"] = heads
            perm["blocks"][block]["queryKey"] = [choices[(h, g)][0] for h, g in enumerate(heads)]
            perm["blocks"][block]["valueOutput"] = [choices[(h, g)][1] for h, g in enumerate(heads)]
        current = similarity(a, apply_permutation(b, perm, d_head))
        previous = history[-1]
        history.append(current)
        if current <= previous + 1e-12 * abs(previous):
            break
    return apply_permutation(b, perm, d_head)


def distances(a, b):
    diff = sum(float(np.sum((a[n] - b[n]) ** 2)) for n in a)
    norm_a = np.sqrt(sum(float(np.sum(a[n] ** 2)) for n in a))
    norm_b = np.sqrt(sum(float(np.sum(b[n] ** 2)) for n in a))
    dot = sum(float(np.sum(a[n] * b[n])) for n in a)
    l2 = np.sqrt(diff)
    per_tensor = {n: float(np.sqrt(np.sum((a[n] - b[n]) ** 2))) for n in a}
    return {"l2": l2, "relativeL2": l2 / (0.5 * (norm_a + norm_b)), "cosine": dot / (norm_a * norm_b), "tensors": per_tensor}


def weight_space(flat, names, shapes, runs, layout):
    models = []
    for r in range(runs):
        offset, params = 0, {}
        for name, shape in zip(names, shapes):
            size = int(np.prod(shape))
            params[name] = flat[r, offset:offset + size].astype(np.float64).reshape(shape)
            offset += size
        models.append(params)

    results = {}
    for i in range(runs):
        for j in range(i + 1, runs):
            raw = distances(models[i], models[j])
            aligned = distances(models[i], align(models[i], models[j], layout))
            results[(i, j)] = {"l2": raw["l2"], "alignedL2": aligned["l2"], "alignedRelativeL2": aligned["relativeL2"]}
    return results


def main():
    config = json.load(open(sys.argv[1]))
    logits = np.fromfile(config["logitsFile"], dtype="<f4").reshape(config["runs"], -1, config["vocab"])
    flat = np.fromfile(config["weightsFile"], dtype="<f4").reshape(config["weightRuns"], -1)

    start = time.perf_counter()
    pairs, ensemble = function_space(logits, config["vocab"])
    function_seconds = time.perf_counter() - start

    start = time.perf_counter()
    weights = weight_space(flat, config["names"], config["shapes"], config["weightRuns"], config["layout"])
    weight_seconds = time.perf_counter() - start

    first = pairs[(0, 1)]
    print(json.dumps({
        "functionSeconds": function_seconds,
        "weightSeconds": weight_seconds,
        "firstPair": {k: float(v) for k, v in first.items()},
        "jensenShannonSum": float(sum(v["jensenShannon"] for v in pairs.values())),
        "ensembleKlSum": float(sum(ensemble)),
        "alignedL2": [float(weights[k]["alignedL2"]) for k in sorted(weights)],
        "l2": [float(weights[k]["l2"]) for k in sorted(weights)],
        "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
