//! segbench library
