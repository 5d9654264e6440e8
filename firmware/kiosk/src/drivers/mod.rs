//! Sensor drivers on embedded-hal 1.0 (blocking).
//!
//! | sensor | bus | driver |
//! |---|---|---|
//! | MLX90614 IR thermometer | I²C/SMBus | `mlx9061x` (maintained) + [`thermometer`] adapter |
//! | MAX30102 pulse oximeter | I²C | `max3010x` (maintained) + [`oximeter`] adapter |
//! | HX711 load-cell ADC | GPIO | [`hx711`], written here (bounded waits), + [`scale`] |
//! | BLE blood pressure monitor | BLE | [`bp`]: a trait for the stack, core's GATT parser |
//! | MFRC522 card reader | SPI | [`mfrc522`], written here (bounded waits, no panics) |

pub mod bp;
pub mod hx711;
pub mod mfrc522;
pub mod oximeter;
pub mod scale;
pub mod thermometer;
