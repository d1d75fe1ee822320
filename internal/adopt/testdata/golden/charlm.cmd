python train.py --input-file names.txt --work-dir /run/out  --max-steps 60 --device cpu --seed 3407 --n-embd 16 --n-hidden 64 --batch-size 32 --learning-rate 0.005 --weight-decay 0.01 --eval-every 20
