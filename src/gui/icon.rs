//! The window icon: 64x64 RGBA made from resources/icon.svg by scripts/icons.sh (raw pixels,
//! so no image decoder is needed).

pub const SIZE: u32 = 64;
const PIXELS: &[u8] = include_bytes!("../../resources/icons/scanmail-64.rgba");

pub fn window_icon() -> Option<iced::window::Icon> {
    iced::window::icon::from_rgba(PIXELS.to_vec(), SIZE, SIZE).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_icon_has_the_right_size_and_is_not_empty() {
        assert_eq!(
            super::PIXELS.len(),
            (super::SIZE * super::SIZE * 4) as usize
        );
        assert!(super::PIXELS.chunks(4).filter(|p| p[3] == 0xff).count() > 2000);
        assert!(super::window_icon().is_some());
    }
}
