"""The built-in plugins: one table, loaded by every `~spikelearn.registry.Registry` before the
entry points of installed packages (``spikelearn.models``, ``spikelearn.plasticity``,
``spikelearn.tasks``) and plugin files. Values are ``module:Class``, imported when a registry is made."""

__all__ = ["BUILTIN_PLUGINS"]

BUILTIN_PLUGINS = {
    "models": {
        "lif_cond": "spikelearn.models.lif:LIFConductance",
        "lif_cur": "spikelearn.models.lif:LIFCurrentEI",
        "lif_cond_ei": "spikelearn.models.lif:LIFConductanceEI",
        "lif_alpha": "spikelearn.models.lif:LIFAlphaPoisson",
        "adex": "spikelearn.models.adex:AdEx",
        "izhikevich": "spikelearn.models.izhikevich:Izhikevich",
        "poisson": "spikelearn.models.inputs:Poisson",
        "spike_generator": "spikelearn.models.inputs:SpikeTimes",
        "spike_train": "spikelearn.models.inputs:SpikeTrain",
        "poisson_hawkes": "spikelearn.models.poisson_hawkes:PoissonHawkes",
        "dendritic_mixture": "spikelearn.models.dendritic:DendriticMixtureSampler",
        "dendritic_tree_soma": "spikelearn.models.dendritic:DendriticTreeSoma",
        "dendritic_layer": "spikelearn.models.dendritic:DendriticLayer",
        "rate_langevin": "spikelearn.models.rate_langevin:RateLangevin",
        "rate_cosine_input": "spikelearn.models.rate_langevin:CosineInput",
        "rate_constant": "spikelearn.models.rate_langevin:ConstantRate",
    },
    "plasticity": {
        "stdp_additive": "spikelearn.plasticity.stdp_additive:AdditiveSTDP",
        "stdp_powerlaw": "spikelearn.plasticity.stdp_powerlaw:PowerLawSTDP",
        "stdp_gradient": "spikelearn.plasticity.stdp_gradient:GradientSTDP",
        "stdp_gradient_rate": "spikelearn.plasticity.stdp_gradient:GradientRate",
        "stdp_gradient_rate_sym": "spikelearn.plasticity.stdp_gradient:GradientRateSymmetric",
        "dynamic_inversion": "spikelearn.plasticity.dynamic_inversion:DynamicInversionUpdate",
        "reward_hebbian": "spikelearn.plasticity.reward_hebbian:RewardHebbian",
    },
    "tasks": {
        "song_stdp": "spikelearn.tasks.song2000.task:SongSTDP",
        "balanced_stdp": "spikelearn.tasks.morrison2007.task:BalancedSTDP",
        "stdp_window": "spikelearn.tasks.bengio2017.stdp_window:StdpWindow",
        "stdp_window_ou": "spikelearn.tasks.bengio2017.stdp_window:StdpWindowOU",
        "nudged_gradient": "spikelearn.tasks.bengio2017.nudged:NudgedGradient",
        "poisson_sampling": "spikelearn.tasks.zhang2023.task:PoissonSampling",
        "poisson_sampling_grid": "spikelearn.tasks.zhang2023.task:PoissonSamplingGrid",
        "poisson_sampling_coupled": "spikelearn.tasks.zhang2023.task:PoissonSamplingCoupled",
        "reward_coding": "spikelearn.tasks.bredenberg2020.task:RewardCoding",
        "adversarial_wake_sleep": "spikelearn.tasks.benjamin_kording.task:AdversarialWakeSleep",
        "surprise_oscillation": "spikelearn.tasks.benjamin_kording.task:SurpriseOscillation",
        "dynamic_inversion": "spikelearn.tasks.podlaski2020.task:DynamicInversion",
        "dynamic_inversion_spiking": "spikelearn.tasks.podlaski2020.task:DynamicInversionSpiking",
        "dynamic_inversion_learning": "spikelearn.tasks.podlaski2020.task:DynamicInversionLearning",
        "dendritic_prior": "spikelearn.tasks.lyo2024.task:DendriticPrior",
        "dendritic_posterior": "spikelearn.tasks.lyo2024.task:DendriticPosterior",
        "dendritic_swissroll": "spikelearn.tasks.lyo2024.task:DendriticSwissRoll",
    },
}
