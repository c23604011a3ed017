//! The phrase tables as the writer sees them: complete for every language, genre, tone and place,
//! and every template renders to one clean sentence.

use anyhow::{ensure, Context as _};
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

use super::{sentences, topic_for};
use crate::generator::{
    data::{lang_for, PLACES},
    metadata::hashtag,
    world::{Stage, World},
    writer::Writer,
    GENRES, LANGUAGES, TONES,
};

#[test]
fn phrase_tables_are_complete() -> anyhow::Result<()> {
    for language in LANGUAGES {
        let lang = lang_for(language);
        ensure!(lang.code == *language, "{language}: code");
        for genre in GENRES {
            let text = lang
                .genres
                .get(*genre)
                .with_context(|| format!("{language}: {genre}"))?;
            ensure!(
                !text.arc.intro.is_empty() && text.arc.all().iter().all(|p| !p.is_empty()),
                "{language} {genre}: pools"
            );
            ensure!(
                !text.things.is_empty() && !text.goals.is_empty() && !text.obstacles.is_empty(),
                "{language} {genre}"
            );
            ensure!(
                !text.titles.is_empty() && hashtag(&text.tag).is_some(),
                "{language} {genre}: titles/tag"
            );
        }
        for tone in TONES {
            let text = lang
                .tones
                .get(*tone)
                .with_context(|| format!("{language}: {tone}"))?;
            ensure!(
                !text.feel.is_empty() && !text.manner.is_empty(),
                "{language} {tone}"
            );
        }
        for place in PLACES.iter() {
            ensure!(
                lang.places.contains_key(&place.key),
                "{language}: place {}",
                place.key
            );
        }
        let by_setting = &lang.senses;
        for senses in [
            &by_setting.sea,
            &by_setting.forest,
            &by_setting.city,
            &by_setting.open,
        ] {
            ensure!(
                senses.sounds.len() >= 3 && senses.smells.len() >= 3 && senses.sights.len() >= 3,
                "{language}: senses"
            );
        }
        ensure!(lang.names.len() >= 4, "{language}: names");
        let stage_pools = [
            &lang.arc.hook,
            &lang.arc.rising,
            &lang.arc.turn,
            &lang.arc.resolution,
        ];
        let smallest = stage_pools
            .iter()
            .map(|p| p.len())
            .min()
            .unwrap_or_default();
        let wanted = if *language == "en" { 20 } else { 12 };
        ensure!(
            smallest >= wanted && lang.arc.intro.len() >= 8,
            "{language}: pools too small"
        );
    }
    Ok(())
}

#[test]
fn every_template_renders_cleanly() -> anyhow::Result<()> {
    for language in LANGUAGES {
        let lang = lang_for(language);
        for (female_seed, genre, tone) in [
            (0u64, "mystery", "calm"),
            (1, "romance", "dark"),
            (2, "comedy", "humorous"),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(female_seed);
            let world = World::new(lang, topic_for(language).to_owned(), genre, tone, &mut rng);
            let mut writer = Writer::new(&world, rng);
            let mut pools: Vec<&'static [String]> = lang.arc.all().to_vec();
            pools.push(&lang.texture);
            pools.extend(lang.genres.values().flat_map(|g| g.arc.all()));
            pools.extend(lang.tones.values().flat_map(|t| t.arc.all()));
            for template in pools.into_iter().flatten() {
                let rendered = writer
                    .render(template, Stage::Rising)
                    .with_context(|| format!("{language}: {template}"))?;
                ensure!(
                    !rendered.text.contains(['{', '}']),
                    "{language}: {}",
                    rendered.text
                );
                ensure!(
                    rendered.text.ends_with(['.', '!', '?']),
                    "{language}: {template}"
                );
                ensure!(
                    sentences(&rendered.text).len() == 1,
                    "{language}: several sentences in {template}"
                );
                ensure!(
                    !(*language != "en" && template.contains("{the_subject}")),
                    "{language}: {{the_subject}} is English-only"
                );
            }
        }
    }
    Ok(())
}
