"""The training data of a category's fine-tuning run, gathered from the database and the seed corpus."""

from __future__ import annotations

from catalog.models import Category
from catalog.rules import has_call_to_action
from experiments.models import VariantCopy
from generator import selectors
from generator.corpus import seed_corpus_examples
from generator.finetune.data import (
    RLPrompt,
    TrainingExample,
    corpus_examples,
    fit_to_train,
    outcome_weight,
    sentiment_tag_for,
    training_example,
)
from generator.pipeline import product_facts
from generator.prompts import ProductContext, build_prompts, category_keywords
from generator.scorers import sentiment_polarity


def finetune_examples(*, category: Category) -> list[TrainingExample]:
    """SFT data: the category's approved non-control copy that passes the copy guards against its
    own product's facts (weighted by logged CTR/CVR) + the seed corpus's rows fit to train on
    without facts (`data.fit_to_train`)."""
    lam = float(category.recommended_lambda)
    keywords = tuple(category.keywords or ())
    outcomes = {(o.variant_id, o.product_id): o for o in selectors.variant_outcomes(category=category)}
    impressions = sum(o.impressions for o in outcomes.values())
    mean_ctr = sum(o.clicks for o in outcomes.values()) / impressions if impressions else 0.0
    mean_cvr = sum(o.orders for o in outcomes.values()) / impressions if impressions else 0.0
    approved = (
        VariantCopy.objects.filter(status=VariantCopy.Status.APPROVED, product__category=category)
        .exclude(variant__is_control=True)
        .exclude(copy="")
        .select_related("product__category")
        .order_by("id")
    )
    examples: list[TrainingExample] = []
    for index, row in enumerate(approved):
        context = selectors.product_context(product=row.product)
        if not fit_to_train(row.copy, product_facts(context), other_brands=context.other_brands):
            continue  # approved before the guards, or edited by hand beyond the product's facts
        outcome = outcomes.get((row.variant_id, row.product_id))
        weight = (
            outcome_weight(
                impressions=outcome.impressions,
                clicks=outcome.clicks,
                orders=outcome.orders,
                mean_ctr=mean_ctr,
                mean_cvr=mean_cvr,
            )
            if outcome
            else 1.0
        )
        examples.append(
            training_example(
                product=context,
                text=row.copy,
                lam=lam,
                sentiment=sentiment_tag_for(sentiment_polarity(row.copy)),
                cta=has_call_to_action(row.copy),
                weight=weight,
                source=f"variant:{row.variant_id}:{row.product.sku}",
                index=index,
            )
        )
    examples.extend(corpus_examples(category=category.name, lam=lam, keywords=keywords))
    return examples


def rl_prompt_set(*, category: Category, limit: int = 24) -> list[RLPrompt]:
    """RL prompts: the seed corpus's products of the category (never the held-out catalog products),
    prompted as the generator prompts them at the category's recommended λ."""
    lam = float(category.recommended_lambda)
    keywords = category_keywords(category.name, tuple(category.keywords or ()))
    examples = seed_corpus_examples(category=category.name)
    prompts: list[RLPrompt] = []
    for index, example in enumerate(examples[:limit]):
        product = ProductContext(title=example.title, category=category.name, keywords=keywords)
        spec = build_prompts(product=product, lam=lam, count=2)[index % 2]
        prompts.append(RLPrompt(messages=spec.messages, product=product, keywords=keywords))
    return prompts
