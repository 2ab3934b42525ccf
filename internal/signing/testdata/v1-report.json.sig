{
  "type": "advcheck/signature/v1",
  "algorithm": "ed25519",
  "key_id": "2a2115ebd62022cc",
  "file_sha256": "49b76660bfdcbd55a240f138058a4a6b8812f543bd0e73e5c262dbf5a68de030",
  "file_bytes": 78,
  "signature": "Rl9U4UtITr/vy8pet3dxeS8z0Ou7pXD8/EGIPLH1wpMkICmJn944AdXQkWB4mNJzxP6QNoRm1nIspXKe4WiRAg=="
}
