"""Default agent config of the MuJoCo suite (the original's keys and values, plus new keys).

Override any key from the command line, e.g. ``--config.algo=mle --config.model_hidden_dim=8``.
Every number is range-checked before any compute (``omd/sac/config.py``): rates, sizes and ``tau``
positive, ``discount`` in [0, 1], ``tau`` at most 1, ``replay_buffer_size`` at least the batch size.
"""

from ml_collections import config_dict


def get_config():
    config = config_dict.ConfigDict()

    config.algo = "omd"  # omd | mle | vep | sac (model-free reference)

    config.model_lr = 3e-4
    config.actor_lr = 3e-4
    config.critic_lr = 3e-4
    config.temp_lr = 3e-4

    config.hidden_dims = (256, 256)
    config.model_hidden_dim = 64

    config.discount = 0.99

    config.outer_steps = 1  # model (+ SAC) updates per environment step
    config.inner_steps = 1  # K: SAC updates on model predictions per model update

    config.tau = 0.005
    config.target_update_period = 1

    config.init_temperature = 1.0
    config.target_entropy = config_dict.placeholder(float)  # None -> -action_dim / 2

    config.replay_buffer_size = config_dict.placeholder(int)  # None -> max_steps

    # New in this project.
    config.implicit = "identity"  # identity (paper default) | cg (inverse Jacobian by conjugate gradient)
    config.cg_damping = 1e-5
    config.cg_maxiter = 100
    config.num_ensemble_vep = 5  # random value networks of VEP

    return config
