"""The Faust app and the pure domain cores it runs."""
