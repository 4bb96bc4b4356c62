// Browser tests measure media (frame heights, freezes, bitrate estimates) on two cores: two test classes with browsers
// running at once would starve each other's encoders and decoders, so the classes run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
