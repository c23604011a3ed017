//! `reelforge-image`: the image service alone, as `reelforge serve --only image`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(image::service())
}
