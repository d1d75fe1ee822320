python train.py --input-file names.txt --work-dir /run/out   --amp  --max-steps -1 --learning-rate 0.0005 --config= --opt adam --out-dir /run/out/out_dir --seed 1 --tiny 1.0e-07 --one 1.0 --name 3 ''
