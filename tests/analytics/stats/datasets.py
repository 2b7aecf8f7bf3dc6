"""Fixed data sets (sufficient statistics of simulated per-visitor totals, seed 20240501).

Ratio sets: clicks / impressions style; the third has a zero denominator for most units, like
orders / clicks; the fourth is an A/A-like pair. Mean sets: revenue per unit (two) and orders
per unit (one). Every arm has n >= 1,000 units, the range on which gbstats agreement is required.
"""

from analytics.stats import RatioStatistic, SampleMeanStatistic

RATIO_DATASETS = [
    (
        RatioStatistic(n=1000, m_sum=214, m_sum_squares=276, d_sum=1989, d_sum_squares=4961, m_d_sum_of_products=556),
        RatioStatistic(n=1000, m_sum=224, m_sum_squares=274, d_sum=1940, d_sum_squares=4656, m_d_sum_of_products=520),
    ),
    (
        RatioStatistic(n=5000, m_sum=380, m_sum_squares=416, d_sum=10014, d_sum_squares=25056, m_d_sum_of_products=976),
        RatioStatistic(n=4800, m_sum=465, m_sum_squares=507, d_sum=9553, d_sum_squares=23783, m_d_sum_of_products=1147),
    ),
    (
        RatioStatistic(
            n=20000, m_sum=1538, m_sum_squares=1692, d_sum=5113, d_sum_squares=6403, m_d_sum_of_products=1937
        ),
        RatioStatistic(
            n=21000, m_sum=1496, m_sum_squares=1610, d_sum=5253, d_sum_squares=6641, m_d_sum_of_products=1872
        ),
    ),
    (
        RatioStatistic(n=1500, m_sum=307, m_sum_squares=365, d_sum=3005, d_sum_squares=7533, m_d_sum_of_products=765),
        RatioStatistic(n=1500, m_sum=307, m_sum_squares=397, d_sum=2983, d_sum_squares=7345, m_d_sum_of_products=784),
    ),
    (
        RatioStatistic(
            n=50000, m_sum=10011, m_sum_squares=12027, d_sum=100002, d_sum_squares=250138, m_d_sum_of_products=24869
        ),
        RatioStatistic(
            n=50000, m_sum=10498, m_sum_squares=12804, d_sum=100000, d_sum_squares=249912, m_d_sum_of_products=26325
        ),
    ),
]
MEAN_DATASETS = [
    (
        SampleMeanStatistic(n=1000, sum=1865.82, sum_squares=110692.4608),
        SampleMeanStatistic(n=1000, sum=2518.85, sum_squares=143518.7457),
    ),
    (
        SampleMeanStatistic(n=8000, sum=14645.17, sum_squares=903269.8495),
        SampleMeanStatistic(n=8000, sum=15069.11, sum_squares=986192.0089),
    ),
    (SampleMeanStatistic(n=3000, sum=180, sum_squares=182), SampleMeanStatistic(n=3100, sum=200, sum_squares=204)),
]
