//! The window icon, drawn in code (an envelope on a blue tile) so no image decoder is needed.

pub const SIZE: u32 = 64;

/// RGBA pixels of the icon.
pub fn pixels() -> Vec<u8> {
    let mut px = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    let s = SIZE as f32;
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            // Rounded tile.
            let r = 12.0;
            let cx = fx.clamp(r, s - r);
            let cy = fy.clamp(r, s - r);
            let inside = (fx - cx).powi(2) + (fy - cy).powi(2) <= r * r;
            let mut c = if inside {
                [0x25, 0x63, 0xeb, 0xff]
            } else {
                [0, 0, 0, 0]
            };
            // Envelope body.
            let (l, t, rr, b) = (12.0, 20.0, s - 12.0, s - 18.0);
            if inside && fx >= l && fx <= rr && fy >= t && fy <= b {
                c = [0xff, 0xff, 0xff, 0xff];
                // The flap: two lines from the top corners to the middle.
                let mid = s / 2.0;
                let depth = (b - t) * 0.55;
                let flap_y = t + depth * (1.0 - ((fx - mid).abs() / (mid - l)));
                if (fy - flap_y).abs() < 1.6 {
                    c = [0x25, 0x63, 0xeb, 0xff];
                }
            }
            px.extend_from_slice(&c);
        }
    }
    px
}

pub fn window_icon() -> Option<iced::window::Icon> {
    iced::window::icon::from_rgba(pixels(), SIZE, SIZE).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_icon_has_the_right_size_and_is_not_empty() {
        let px = super::pixels();
        assert_eq!(px.len(), (super::SIZE * super::SIZE * 4) as usize);
        assert!(px.chunks(4).filter(|p| p[3] == 0xff).count() > 1000);
        assert!(super::window_icon().is_some());
    }
}
