//! Samplers: points of the unit cube, per fixed-size block of draws.
