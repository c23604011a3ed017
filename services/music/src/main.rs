//! `reelforge-music`: the music service alone, as `reelforge serve --only music`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(music::service())
}
