//! Painting the whole picture: bands of rows on scoped threads, land rows first, then the water
//! rows that mirror them.

use super::plan::Plan;
use super::post::FinishScratch;
use super::scene::Scene;

/// Per-thread row buffers.
pub(super) struct Scratch {
    pub(super) star: Vec<f32>,
    /// Linear RGB of the row being painted.
    pub(super) color: Vec<f32>,
    pub(super) wind: Vec<f32>,
    /// The mirrored row for water, and a staging buffer for it.
    pub(super) refl: Vec<f32>,
    pub(super) refl_tmp: Vec<f32>,
    pub(super) finish: FinishScratch,
}

impl Scratch {
    fn new(w: usize) -> Scratch {
        Scratch {
            star: vec![0.0; w],
            color: vec![0.0; w * 3],
            wind: vec![0.0; w],
            refl: vec![0.0; w * 3],
            refl_tmp: vec![0.0; w * 3],
            finish: FinishScratch::new(w),
        }
    }
}

/// Paints the planned scene into a packed RGB buffer.
///
/// Rows depend only on their coordinates and the prepared [`Scene`], so bands of rows are painted
/// on scoped threads with byte-identical results whatever the thread count. Water rows mirror the
/// finished (pre-grain) land rows, so they are painted in a second phase.
pub(super) fn paint(plan: &Plan, w: usize, h: usize) -> Vec<u8> {
    let workers = if w * h >= 1 << 18 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        1
    };
    paint_with(plan, w, h, workers)
}

pub(super) fn paint_with(plan: &Plan, w: usize, h: usize, workers: usize) -> Vec<u8> {
    let workers = workers.max(1);
    let scene = Scene::build(plan, w, h);
    let stride = w * 3;
    let mut out = vec![0u8; stride * h];
    let hy = scene.hy;
    let mut clean = if scene.water.is_some() {
        vec![0u8; stride * hy]
    } else {
        Vec::new()
    };
    let (land, sea) = out.split_at_mut(stride * hy);

    let band = hy.div_ceil(workers).max(1);
    let mut clean_bands = clean.chunks_mut(band * stride);
    let jobs: Vec<_> = land
        .chunks_mut(band * stride)
        .enumerate()
        .map(|(i, rows)| (i * band, rows, clean_bands.next()))
        .collect();
    let paint_land = |(y0, rows, clean): (usize, &mut [u8], Option<&mut [u8]>)| {
        let mut scratch = Scratch::new(w);
        let mut clean_rows = clean.map(|c| c.chunks_exact_mut(stride));
        for (i, row) in rows.chunks_exact_mut(stride).enumerate() {
            let clean_row = clean_rows.as_mut().and_then(Iterator::next);
            scene.paint_land_row(y0 + i, row, clean_row, &mut scratch);
        }
    };
    run_jobs(jobs, &paint_land);

    if let Some(wg) = &scene.water {
        let band = (h - hy).div_ceil(workers).max(1);
        let jobs: Vec<_> = sea
            .chunks_mut(band * stride)
            .enumerate()
            .map(|(i, rows)| (hy + i * band, rows))
            .collect();
        let paint_sea = |(y0, rows): (usize, &mut [u8])| {
            let mut scratch = Scratch::new(w);
            for (i, row) in rows.chunks_exact_mut(stride).enumerate() {
                scene.paint_water_row(wg, y0 + i, row, &clean, &mut scratch);
            }
        };
        run_jobs(jobs, &paint_sea);
    }
    out
}

/// Runs jobs on scoped threads, the first on the calling thread.
fn run_jobs<J: Send>(jobs: Vec<J>, f: &(impl Fn(J) + Sync)) {
    std::thread::scope(|scope| {
        let mut jobs = jobs.into_iter();
        let first = jobs.next();
        for job in jobs {
            scope.spawn(move || f(job));
        }
        if let Some(job) = first {
            f(job);
        }
    });
}
