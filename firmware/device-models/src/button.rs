//! A push button on a GPIO input with a pull-up: pressing it pulls the pin to ground
//! (active low). The kiosk's provisioning button is one, read once at power-up.

use core::cell::Cell;
use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, InputPin};

/// The button.
#[derive(Debug, Default)]
pub struct PushButton {
    pressed: Cell<bool>,
}

impl PushButton {
    /// A button, held down or not.
    pub const fn new(pressed: bool) -> Self {
        PushButton {
            pressed: Cell::new(pressed),
        }
    }

    /// Presses or releases it.
    pub fn set_pressed(&self, pressed: bool) {
        self.pressed.set(pressed);
    }

    /// The GPIO input it is wired to.
    pub fn pin(&self) -> ButtonPin<'_> {
        ButtonPin(self)
    }
}

/// The GPIO input of a [`PushButton`]: low while the button is pressed.
#[derive(Debug, Clone, Copy)]
pub struct ButtonPin<'a>(&'a PushButton);

impl ErrorType for ButtonPin<'_> {
    type Error = Infallible;
}

impl InputPin for ButtonPin<'_> {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(!self.0.pressed.get())
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(self.0.pressed.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressed_reads_low() {
        let b = PushButton::new(false);
        assert_eq!(b.pin().is_low(), Ok(false));
        assert_eq!(b.pin().is_high(), Ok(true));
        b.set_pressed(true);
        assert_eq!(b.pin().is_low(), Ok(true));
        assert_eq!(b.pin().is_high(), Ok(false));
    }
}
