/* gbt_data.h - the synthetic data set the tree tests and bench_infer train on: 20 features of mixed kinds, missing values, a nonlinear label rule plus noise. */
#ifndef VIGIL_GBT_DATA_H
#define VIGIL_GBT_DATA_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define GBT_DATA_COLS 20

/* splitmix64: a small deterministic generator, so every run sees the same rows. */
static inline uint64_t gbt_data_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double gbt_data_unit(uint64_t *s)
{
	return (double)(gbt_data_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * Fills X (rows x GBT_DATA_COLS) and y (0/1). Columns: 0-5 continuous (uniform, and a
 * sum of uniforms as a bell shape), 6-9 small integers (so rows sit exactly on split
 * thresholds), 10-13 counts with a long tail, 14-19 noise. About missing_rate of the
 * values of columns 0-4 and 10-13 are NaN, and a missing column 4 raises the odds of
 * class 1, so where missing values go matters. The label is a logistic draw from a
 * nonlinear score: interactions, a threshold, a sine and a periodic integer rule.
 */
static inline void gbt_data_make(uint64_t seed, size_t rows, double missing_rate, float *X, float *y)
{
	uint64_t s = seed;

	for (size_t i = 0; i < rows; i++) {
		float *r = X + i * GBT_DATA_COLS;
		for (int j = 0; j < 6; j++)
			r[j] = j % 2 ? (float)(gbt_data_unit(&s) * 4.0 - 2.0)
				     : (float)(gbt_data_unit(&s) + gbt_data_unit(&s) + gbt_data_unit(&s) - 1.5);
		for (int j = 6; j < 10; j++)
			r[j] = (float)(gbt_data_next(&s) % (uint64_t)(3 + j));
		for (int j = 10; j < 14; j++)
			r[j] = (float)floor(-log(1.0 - gbt_data_unit(&s)) * 50.0);
		for (int j = 14; j < GBT_DATA_COLS; j++)
			r[j] = (float)gbt_data_unit(&s);
		int miss4 = gbt_data_unit(&s) < missing_rate * 2;
		double score = 1.8 * r[0] * r[1] - 1.2 * (r[2] > 0.3f) + 1.5 * sin(3.0 * r[3]) +
			       (miss4 ? 1.2 : -0.6 * r[4]) + 0.9 * ((int)r[6] % 3 == 0) - 0.7 * ((int)r[7] == 2) +
			       0.01 * (r[10] - 50.0) + 0.6 * (r[11] > 100.0f) * (r[8] > 4.0f) - 0.3;
		for (int j = 0; j < 14; j++) {
			if (j == 4 ? miss4 : (j < 4 || j >= 10) && gbt_data_unit(&s) < missing_rate)
				r[j] = NAN;
		}
		double p = 1.0 / (1.0 + exp(-score));
		y[i] = gbt_data_unit(&s) < p ? 1.0f : 0.0f;
	}
}

#endif /* VIGIL_GBT_DATA_H */
