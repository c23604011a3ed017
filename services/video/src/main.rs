//! `reelforge-video`: the video service alone, as `reelforge serve --only video`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(video::service())
}
