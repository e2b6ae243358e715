import dataclasses

import pytest
import torch

from textgym.agents.supervised import used_width
from textgym.agents.transformer import (
    MASKED_LOGIT,
    POSITION_ENCODINGS,
    ModelConfig,
    TransformerConfig,
    TransformerPolicy,
    alibi_slopes,
    rotate,
    sinusoidal_positions,
)

CONFIG = TransformerConfig(vocab_size=11, prompt_len=7, max_len=7 + 1 + 9, d_model=32, n_heads=4, n_layers=3, d_ff=64)


def random_batch(batch=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    prompts = torch.randint(0, CONFIG.vocab_size, (batch, CONFIG.prompt_len), generator=g)
    answers = torch.randint(1, CONFIG.vocab_size, (batch, CONFIG.gen_len), generator=g)
    return prompts, answers


@pytest.mark.parametrize("positions", POSITION_ENCODINGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kv_cache_logits_equal_full_sequence_logits(seed, positions):
    torch.manual_seed(seed)
    model = TransformerPolicy(dataclasses.replace(CONFIG, positions=positions)).eval()
    prompts, answers = random_batch(seed=seed)
    with torch.no_grad():
        full_logits, full_values = model(model.sequence_from_observation(torch.cat([prompts, answers], dim=1)))
        logits, values, cache = model.prefill(prompts)
        incremental, incremental_values = [logits], [values]
        for t in range(CONFIG.gen_len):
            logits, values = model.step(answers[:, t], cache)
            incremental.append(logits)
            incremental_values.append(values)
    P = CONFIG.prompt_len
    assert (cache.lengths == CONFIG.max_len).all()
    torch.testing.assert_close(torch.stack(incremental, 1), full_logits[:, P:], atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.stack(incremental_values, 1), full_values[:, P:], atol=1e-5, rtol=0)


@pytest.mark.parametrize("positions", POSITION_ENCODINGS)
def test_rows_extended_by_different_numbers_of_tokens_match_the_full_sequence(positions):
    """A dialogue partner's reply reaches some rows only: rows grow by different counts in one call."""
    torch.manual_seed(0)
    model = TransformerPolicy(dataclasses.replace(CONFIG, positions=positions)).eval()
    prompts, answers = random_batch(batch=3)
    full_logits, full_values = model(model.sequence_from_observation(torch.cat([prompts, answers], dim=1)))
    chunks = [[1, 1, 1, 1, 1, 1, 1, 1, 1], [3, 1, 4, 1], [1, 5, 0, 3]]  # tokens each row takes per call
    with torch.no_grad():
        _, _, cache = model.prefill(prompts)
        fed = torch.zeros(3, dtype=torch.long)
        for call in range(max(len(c) for c in chunks)):
            counts = torch.tensor([c[call] if call < len(c) else 0 for c in chunks])
            width = int(counts.max())
            tokens = torch.zeros(3, width, dtype=torch.long)
            for row in range(3):
                tokens[row, : counts[row]] = answers[row, fed[row] : fed[row] + counts[row]]
            logits, values = model.extend(tokens, cache, counts)
            fed += counts
            for row in torch.nonzero(counts).squeeze(1).tolist():
                position = CONFIG.prompt_len + int(fed[row])  # the input just fed sits here
                torch.testing.assert_close(logits[row], full_logits[row, position], atol=1e-5, rtol=0)
                torch.testing.assert_close(values[row], full_values[row, position], atol=1e-5, rtol=0)
    assert cache.lengths.tolist() == [CONFIG.max_len] * 3


def test_rotary_attention_depends_on_relative_positions_only():
    """With rotary positions a query and a key meet through their offset: shifting both by the same amount leaves
    their attention score as it was."""
    model = TransformerPolicy(dataclasses.replace(CONFIG, positions="rotary"))
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)  # one head: CONFIG's d_model / n_heads = 8 features

    def score(query_position, key_position):
        rotated_q = rotate(q, model.angles[query_position].view(1, 1, 1, 4))
        rotated_k = rotate(k, model.angles[key_position].view(1, 1, 1, 4))
        return (rotated_q * rotated_k).sum().item()

    assert score(5, 2) == pytest.approx(score(9, 6), abs=1e-5)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-3)


def test_alibi_lowers_each_heads_scores_in_proportion_to_the_distance():
    """With ALiBi the tokens carry no position: a head's score for a key is q.k lowered by its slope times the
    distance, so that among equal keys the nearest wins, and shifting query and key together changes nothing."""
    assert alibi_slopes(4).tolist() == [2**-2, 2**-4, 2**-6, 2**-8]
    assert alibi_slopes(8)[0] == pytest.approx(2**-1) and alibi_slopes(8)[-1] == pytest.approx(2**-8)
    model = TransformerPolicy(dataclasses.replace(CONFIG, positions="alibi"))
    attention = model.blocks[0].attention
    bias = attention.mask(torch.tensor([[2, 5]]), 6)  # queries at positions 2 and 5, keys 0..5
    assert bias.shape == (1, CONFIG.n_heads, 2, 6)
    torch.testing.assert_close(bias[0, 0, 1], -0.25 * torch.tensor([5.0, 4, 3, 2, 1, 0]))
    torch.testing.assert_close(bias[0, 3, 0, :3], -(2**-8) * torch.tensor([2.0, 1, 0]))
    assert torch.isinf(bias[0, :, 0, 3:]).all() and (bias[0, :, 0, 3:] < 0).all()  # keys after the query: never
    shifted = attention.mask(torch.tensor([[4, 7]]), 8)
    torch.testing.assert_close(shifted[..., 2:], bias)
    tokens = torch.tensor([[3, 4, 5]])
    assert torch.equal(model._embed(tokens, torch.arange(3))[0], model._embed(tokens, torch.tensor([7, 0, 2]))[0])


def test_attention_is_causal():
    model = TransformerPolicy(CONFIG).eval()
    prompts, answers = random_batch()
    sequence = model.sequence_from_observation(torch.cat([prompts, answers], dim=1))
    changed = sequence.clone()
    changed[:, 12:] = (changed[:, 12:] % (CONFIG.vocab_size - 1)) + 1
    with torch.no_grad():
        before, _ = model(sequence)
        after, _ = model(changed)
    torch.testing.assert_close(before[:, :12], after[:, :12])
    assert not torch.allclose(before[:, 12:], after[:, 12:])


def test_select_action_reads_the_step_from_the_observation():
    """Rows at different steps in one batch act as they would alone, and as the cached generation does."""
    torch.manual_seed(0)
    model = TransformerPolicy(CONFIG).eval()
    prompts, answers = random_batch(batch=4)
    obs = torch.zeros(4, CONFIG.prompt_len + CONFIG.gen_len, dtype=torch.long)
    obs[:, : CONFIG.prompt_len] = prompts
    steps = [0, 1, 4, 8]
    for row, step in enumerate(steps):
        obs[row, CONFIG.prompt_len : CONFIG.prompt_len + step] = answers[row, :step]
    actions = model.select_action(obs)
    with torch.no_grad():
        logits, _, cache = model.prefill(prompts)
        expected = [logits.argmax(-1)]
        for t in range(max(steps)):
            logits, _ = model.step(answers[:, t], cache)
            expected.append(logits.argmax(-1))
    assert actions.tolist() == [expected[step][row].item() for row, step in enumerate(steps)]


def test_pad_is_never_chosen_and_bos_is_not_an_action():
    model = TransformerPolicy(CONFIG).eval()
    prompts, answers = random_batch()
    logits, _ = model(model.sequence_from_observation(torch.cat([prompts, answers], dim=1)))
    assert logits.shape[-1] == CONFIG.vocab_size and model.bos_id == CONFIG.vocab_size
    assert (logits[..., 0] == MASKED_LOGIT).all()
    sampled = model.select_action(torch.cat([prompts, answers * 0], dim=1).repeat(50, 1), deterministic=False)
    assert (sampled > 0).all()


def test_a_policy_restricted_to_some_actions_gives_the_others_the_masked_logit_everywhere():
    config = dataclasses.replace(CONFIG, actions=(1, 4, 5))
    model = TransformerPolicy(config).eval()
    prompts, answers = random_batch()
    logits, _ = model(model.sequence_from_observation(torch.cat([prompts, answers], dim=1)))
    allowed = torch.zeros(CONFIG.vocab_size, dtype=torch.bool)
    allowed[[1, 4, 5]] = True
    assert (logits[..., ~allowed] == MASKED_LOGIT).all() and (logits[..., allowed] > MASKED_LOGIT / 2).all()
    step_logits, _, cache = model.prefill(prompts)
    assert (step_logits[:, ~allowed] == MASKED_LOGIT).all()
    step_logits, _ = model.step(answers[:, 0], cache)
    assert (step_logits[:, ~allowed] == MASKED_LOGIT).all()
    # The restriction changes no allowed logit: the same weights without it give the same numbers there.
    free = TransformerPolicy(CONFIG).eval()
    free.load_state_dict(model.state_dict())
    free_logits, _ = free(free.sequence_from_observation(torch.cat([prompts, answers], dim=1)))
    torch.testing.assert_close(free_logits[..., allowed], logits[..., allowed])
    sampled = model.select_action(torch.cat([prompts, answers * 0], dim=1).repeat(50, 1), deterministic=False)
    assert set(sampled.tolist()) <= {1, 4, 5}
    # Entropies and KL divergences stay finite.
    log_probs = torch.log_softmax(logits, -1)
    assert torch.isfinite((log_probs.exp() * log_probs).sum(-1)).all()


def test_tied_embeddings_and_sinusoidal_positions():
    model = TransformerPolicy(CONFIG)
    names = [name for name, _ in model.named_parameters()]
    assert not any("lm_head" in name or "position" in name for name in names)  # tied output, fixed positions
    positions = sinusoidal_positions(4, 6)
    assert positions[0].tolist() == pytest.approx([0, 1, 0, 1, 0, 1])
    assert positions[1, 0].item() == pytest.approx(torch.sin(torch.tensor(1.0)).item())
    assert positions[1, 2].item() == pytest.approx(torch.sin(torch.tensor(10_000 ** (-2 / 6))).item())


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("d_model", 30, "divisible"),
        ("n_layers", 0, "n_layers"),
        ("max_len", 7, "exceed"),
        ("dropout", 1.0, "dropout"),
        ("positions", "learned", "unknown positions 'learned'"),
        ("precision", "fp16", "unknown precision 'fp16'"),
        ("actions", (), r"actions must be a non-empty sequence of token ids in \[1, 11\), got \(\)"),
        ("actions", (0, 3), r"token ids in \[1, 11\), got \(0, 3\)"),
        ("actions", (3, 11), r"got \(3, 11\)"),
    ],
)
def test_config_rejects_bad_sizes(field, value, match):
    options = {**CONFIG.__dict__, field: value}
    with pytest.raises(ValueError, match=match):
        TransformerConfig(**options)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("d_model", "32", "option 'd_model' must be of type int, got '32'"),
        ("n_heads", True, "option 'n_heads' must be of type int, got True"),
        ("actions", (True,), r"option 'actions' must be of type tuple\[int, ...\] \| None, got \(True,\)"),
    ],
)
def test_config_rejects_values_of_the_wrong_type_by_name(field, value, match):
    with pytest.raises(TypeError, match=match):
        TransformerConfig(**{**CONFIG.__dict__, field: value})


def test_the_sizes_are_declared_once_in_model_config():
    """A TransformerConfig is a ModelConfig plus the task's layout: its sizes and their defaults are ModelConfig's."""
    default = TransformerConfig(vocab_size=5, prompt_len=2, max_len=6)
    assert (
        isinstance(default, ModelConfig)
        and dataclasses.asdict(default).items() >= dataclasses.asdict(ModelConfig()).items()
    )
    assert ModelConfig.of({"n_layers": 3}) == ModelConfig(n_layers=3)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['n_layer'\] for ModelConfig"):
        ModelConfig.of({"n_layer": 3})
    with pytest.raises(TypeError, match="option 'model' must be a ModelConfig or a dict of its fields, got 3"):
        ModelConfig.of(3)


def test_bos_goes_in_once_between_the_prompt_and_the_slots():
    model = TransformerPolicy(CONFIG)
    prompts, answers = random_batch(batch=2)
    sequence = model.sequence(prompts, answers[:, :3])
    P = CONFIG.prompt_len
    assert torch.equal(sequence[:, :P], prompts) and torch.equal(sequence[:, P + 1 :], answers[:, :3])
    assert (sequence[:, P] == model.bos_id).all()
    assert torch.equal(model.sequence(prompts), sequence[:, : P + 1])
    observation = torch.cat([prompts, answers], dim=1)
    assert torch.equal(model.sequence_from_observation(observation), model.sequence(prompts, answers))


def test_teacher_forcing_gives_the_full_sequence_outputs_at_the_answer_slots():
    """Slot ``t``'s logits are those the whole sequence gives at position ``P + t``: they see the prompt and the
    slots before ``t`` (the last slot is never read), as generation sees them."""
    torch.manual_seed(0)
    model = TransformerPolicy(CONFIG).eval()
    prompts, answers = random_batch()
    with torch.no_grad():
        logits, values = model.teacher_forced(prompts, answers)
        full_logits, full_values = model(model.sequence(prompts, answers))
        changed_last, _ = model.teacher_forced(prompts, torch.cat([answers[:, :-1], answers[:, -1:] % 5 + 1], dim=1))
    P = CONFIG.prompt_len
    assert logits.shape == (len(prompts), CONFIG.gen_len, CONFIG.vocab_size) and values.shape == answers.shape
    torch.testing.assert_close(logits, full_logits[:, P:-1], atol=1e-5, rtol=0)
    torch.testing.assert_close(values, full_values[:, P:-1], atol=1e-5, rtol=0)
    torch.testing.assert_close(changed_last, logits)


def test_cache_overflow_raises():
    model = TransformerPolicy(CONFIG).eval()
    prompts, _ = random_batch()
    _, _, cache = model.prefill(prompts)
    for _ in range(CONFIG.gen_len):
        model.step(torch.ones(len(prompts), dtype=torch.long), cache)
    with pytest.raises(ValueError, match="max_len"):
        model.step(torch.ones(len(prompts), dtype=torch.long), cache)


def test_bf16_blocks_stay_close_to_fp32_and_the_heads_stay_fp32():
    torch.manual_seed(0)
    model = TransformerPolicy(CONFIG).eval()
    bf16 = TransformerPolicy(dataclasses.replace(CONFIG, precision="bf16")).eval()
    bf16.load_state_dict(model.state_dict())
    prompts, answers = random_batch()
    tokens = model.sequence_from_observation(torch.cat([prompts, answers], dim=1))
    with torch.no_grad():
        logits, values = model(tokens)
        low_logits, low_values = bf16(tokens)
        cached_logits, _, cache = bf16.prefill(prompts)
        stepped_logits, _ = bf16.step(answers[:, 0], cache)
    P = CONFIG.prompt_len
    assert low_logits.dtype == low_values.dtype == cached_logits.dtype == torch.float32
    assert not torch.equal(low_logits, logits)  # the blocks did run in bfloat16
    torch.testing.assert_close(low_logits, logits, atol=0.05, rtol=0)
    torch.testing.assert_close(low_values, values, atol=0.05, rtol=0)
    incremental = torch.stack([cached_logits, stepped_logits], 1)
    torch.testing.assert_close(incremental, low_logits[:, P : P + 2], atol=0.05, rtol=0)
    logits, values = bf16(tokens)
    (logits.logsumexp(-1).mean() + values.mean()).backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in bf16.parameters() if p.requires_grad)


def test_logits_of_the_first_slots_do_not_depend_on_the_slots_after_them():
    """What training relies on when it cuts the slot columns after a batch's longest episode."""
    torch.manual_seed(0)
    model = TransformerPolicy(dataclasses.replace(CONFIG, positions="rotary")).eval()
    prompts, answers = random_batch()
    own = torch.zeros_like(answers, dtype=torch.bool)
    own[0, :3] = own[1, :5] = True
    assert used_width(own) == 5 and used_width(torch.zeros_like(own)) == 1
    with torch.no_grad():
        full_logits, full_values = model.teacher_forced(prompts, answers)
        cut_logits, cut_values = model.teacher_forced(prompts, answers[:, :5])
    torch.testing.assert_close(cut_logits, full_logits[:, :5], atol=1e-5, rtol=0)
    torch.testing.assert_close(cut_values, full_values[:, :5], atol=1e-5, rtol=0)


def test_a_prefill_shared_by_repeated_rows_equals_prefilling_each_row():
    torch.manual_seed(0)
    model = TransformerPolicy(CONFIG).eval()
    prompts, answers = random_batch(batch=3)
    with torch.no_grad():
        logits, values, cache = model.prefill(prompts.repeat_interleave(4, dim=0))
        shared_logits, shared_values, shared = model.prefill(prompts)
        shared = shared.repeat_rows(4)
        torch.testing.assert_close(shared_logits.repeat_interleave(4, dim=0), logits, atol=1e-5, rtol=0)
        torch.testing.assert_close(shared_values.repeat_interleave(4, dim=0), values, atol=1e-5, rtol=0)
        tokens = answers[:, 0].repeat_interleave(4, dim=0)
        torch.testing.assert_close(model.step(tokens, shared)[0], model.step(tokens, cache)[0], atol=1e-5, rtol=0)
    assert torch.equal(shared.lengths, cache.lengths)
