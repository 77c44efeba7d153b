"""How often each hidden unit of a saved model is active over a saved replay buffer.

    python cartpole/train.py --model_hidden_dim 1 --num_seeds 10 --num_train_steps 30000 \\
        --save_agent --agent_path run/agent.pkl --save_buf --data_path run/buf.pkl
    python -m omd.soft_q.dead_units run/agent_*.pkl     # each agent with its buffer (agent -> buf)

A unit active on no transition is dead: a ReLU network's output no longer depends on it and no
gradient reaches the layers before it (docs/results/cartpole.md, "hidden size 1").
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from omd.soft_q import export


def activity(params: dict, inputs: np.ndarray) -> list[np.ndarray]:
    """Per hidden layer, the fraction of ``inputs`` on which each unit's preactivation is positive."""
    x, out = inputs, []
    for i in range(len(params) - 1):  # hidden_0, hidden_1, ...; then out
        pre = x @ np.asarray(params[f"hidden_{i}"]["kernel"]) + np.asarray(params[f"hidden_{i}"]["bias"])
        out.append(np.mean(pre > 0, axis=0))
        x = np.maximum(pre, 0)
    return out


def report(agent_path: str, buffer_path: str) -> str:
    """One line per model network: each hidden layer's unit activity over the buffer's (s, a)."""
    _, params = export.load_agent(agent_path)
    buf = export.load_buffer(buffer_path)
    num_actions = int(buf["action"].max()) + 1
    inputs = np.concatenate([buf["obs"], np.eye(max(num_actions, 2))[buf["action"]]], axis=-1)
    lines = []
    for head, head_params in params["params_T"].items():
        layers = activity(head_params, inputs)
        text = "; ".join(f"layer {i}: " + " ".join(f"{a:.2f}" for a in fr) for i, fr in enumerate(layers))
        dead = sum(int(np.sum(fr == 0)) for fr in layers)
        lines.append(f"{os.path.basename(agent_path)} {head}: active share per unit {text}; dead units {dead}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("agents", nargs="+", help="agent files (--save_agent); each buffer is the same path with "
                        "'agent' replaced by 'buf' unless --buffers is given")
    parser.add_argument("--buffers", nargs="+", help="buffer files (--save_buf), one per agent, in order")
    args = parser.parse_args()
    buffers = args.buffers or [os.path.join(os.path.dirname(a), os.path.basename(a).replace("agent", "buf"))
                               for a in args.agents]
    if len(buffers) != len(args.agents):
        parser.error(f"{len(args.agents)} agents but {len(buffers)} buffers: give one buffer per agent")
    for agent, buf in zip(args.agents, buffers):
        try:
            print(report(agent, buf))
        except (OSError, ValueError) as err:
            raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
